import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway } from '../gateway.ts';
import { TOKEN_ENDPOINT_PATH } from './token-service.ts';
import { GRANT_TYPE, TOKEN_TYPE } from './token-types.ts';

/** `GET /.well-known/jwks.json`: Mandate's public signing keys, including replaced ones still in use. */
export async function serveJwks(gw: Gateway, _req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!gw.tokenService) return notFound(res);
  sendJson(res, gw.tokenService.keys.jwks(), 'public, max-age=60');
}

/** `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata of the token service. */
export async function serveMetadata(gw: Gateway, _req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ts = gw.tokenService;
  if (!ts) return notFound(res);
  const base = ts.config.issuer.replace(/\/$/, '');
  sendJson(
    res,
    {
      issuer: ts.config.issuer,
      token_endpoint: `${base}${TOKEN_ENDPOINT_PATH}`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      grant_types_supported: [GRANT_TYPE.tokenExchange, GRANT_TYPE.clientCredentials],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: [
        'ES256',
        'EdDSA',
        'Ed25519',
        'ES384',
        'ES512',
        'RS256',
        'PS256',
      ],
      response_types_supported: [],
      scopes_supported: [...new Set(gw.config.agents.flatMap((a) => a.ceiling.scopes))].sort(),
      authorization_details_types_supported: [
        ...new Set(gw.config.agents.flatMap((a) => a.ceiling.authorization_details.map((d) => d.type))),
      ].sort(),
      subject_token_types_supported: [TOKEN_TYPE.accessToken, TOKEN_TYPE.idToken],
      actor_token_types_supported: [TOKEN_TYPE.jwt],
    },
    'public, max-age=300',
  );
}

/** A public metadata document (RFC 8414, RFC 9728, the JWKS), cacheable for `cacheControl`. */
export function sendJson(res: ServerResponse, body: unknown, cacheControl: string): void {
  const text = JSON.stringify(body);
  res.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': cacheControl,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: 'not_found' }));
}
