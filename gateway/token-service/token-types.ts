/** RFC 8693 §3 token type identifiers used here. */
export const TOKEN_TYPE = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;

export const GRANT_TYPE = {
  tokenExchange: 'urn:ietf:params:oauth:grant-type:token-exchange',
  clientCredentials: 'client_credentials',
} as const;
