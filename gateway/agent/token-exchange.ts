import { SignJWT } from 'jose';
import * as client from 'openid-client';
import type { AgentKey } from './agent-key.ts';
import { MandateAgentError, MandateRefusal } from './refusal.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

/** A delegation as the token endpoint issued it (RFC 8693 §2.2.1). */
export interface IssuedDelegation {
  readonly token: string;
  /** Local clock, from `expires_in`. */
  readonly expiresAtMs: number;
  readonly lifetimeMs: number;
  /** What was granted: may be narrower than what was asked. */
  readonly scope: string;
}

/** Mandate's token endpoint, discovered, with the agent's client authentication. */
export interface TokenEndpoint {
  exchange(params: Record<string, string>): Promise<IssuedDelegation>;
}

export interface TokenEndpointOptions {
  readonly mandate: URL;
  /** Mandate's issuer identifier, when the agent reaches Mandate at another address than it. */
  readonly issuer: string | undefined;
  readonly allowInsecureHttp: boolean;
  readonly actorTokenLifetimeSeconds: number;
}

/**
 * Discovers the token endpoint from Mandate's RFC 8414 metadata with openid-client, which also
 * authenticates every request as the agent (`private_key_jwt`, a fresh single-use client assertion
 * each time, RFC 7523). When the agent names Mandate's issuer explicitly, the metadata is read from
 * the agent's address for Mandate and its `issuer` compared here; either way the token endpoint is
 * reached at that address (the metadata's path on Mandate's origin), never elsewhere.
 */
export async function discoverTokenEndpoint(agent: AgentKey, options: TokenEndpointOptions): Promise<TokenEndpoint> {
  const execute = options.allowInsecureHttp ? [client.allowInsecureRequests] : [];
  const auth = client.PrivateKeyJwt({ key: agent.key, ...(agent.kid ? { kid: agent.kid } : {}) });
  const server =
    options.issuer === undefined
      ? options.mandate // RFC 8414 §3.3: openid-client checks the metadata's issuer equals this URL
      : new URL('/.well-known/oauth-authorization-server', options.mandate);
  const clientMetadata = { token_endpoint_auth_method: 'private_key_jwt' };
  const discovered = await client.discovery(server, agent.id, clientMetadata, auth, { algorithm: 'oauth2', execute });
  const { supportsPKCE: _, ...metadata } = discovered.serverMetadata();
  if (options.issuer !== undefined && metadata.issuer !== options.issuer) {
    throw new MandateAgentError(
      'ERR_MANDATE_ISSUER_MISMATCH',
      `Mandate at ${options.mandate.origin} names its issuer ${metadata.issuer}, not ${options.issuer}`,
    );
  }
  if (!metadata.token_endpoint) throw new MandateAgentError('ERR_MANDATE_ISSUER_MISMATCH', 'no token_endpoint');
  const tokenEndpoint = new URL(new URL(metadata.token_endpoint).pathname, options.mandate).href;
  const config = new client.Configuration(
    { ...metadata, token_endpoint: tokenEndpoint },
    agent.id,
    clientMetadata,
    auth,
  );
  for (const extension of execute) extension(config);

  return {
    async exchange(params) {
      const actorToken = await signActorToken(agent, metadata.issuer, options.actorTokenLifetimeSeconds);
      const startedMs = Date.now();
      let response: client.TokenEndpointResponse;
      try {
        response = await client.genericGrantRequest(config, TOKEN_EXCHANGE, {
          ...params,
          actor_token: actorToken,
          actor_token_type: JWT,
        });
      } catch (e) {
        throw await asRefusal(e);
      }
      const lifetimeMs = (response.expires_in ?? 0) * 1000;
      return {
        token: response.access_token,
        // expires_in counts whole seconds from a truncated "now": the token may end up to 1 s sooner.
        expiresAtMs: startedMs + lifetimeMs - 1000,
        lifetimeMs,
        scope: response.scope ?? params.scope ?? '',
      };
    },
  };
}

/** The subject token type for the user's token (RFC 8693 §3). */
export function userTokenType(kind: 'access_token' | 'id_token'): string {
  return kind === 'id_token' ? ID_TOKEN : ACCESS_TOKEN;
}

/** A delegation presented again by the agent it was issued to: a renewal (same txn, same chain). */
export const DELEGATION_TOKEN_TYPE = ACCESS_TOKEN;

/**
 * The agent's own JWT (RFC 8693 §2.1 `actor_token`): `iss` = `sub` = the agent, addressed to Mandate.
 * Mandate bounds the delegation's `exp` by this token's, so it lives as long as a delegation may.
 */
function signActorToken(agent: AgentKey, issuer: string, lifetimeSeconds: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: agent.alg, typ: 'JWT', ...(agent.kid ? { kid: agent.kid } : {}) })
    .setIssuer(agent.id)
    .setSubject(agent.id)
    .setAudience(issuer)
    .setIssuedAt()
    .setExpirationTime(`${lifetimeSeconds}s`)
    .setJti(crypto.randomUUID())
    .sign(agent.key);
}

/**
 * An RFC 6749 §5.2 error answer as a MandateRefusal. openid-client reports a 401 that carries
 * `WWW-Authenticate` (invalid_client) as a challenge error; its body holds the same `error`.
 */
async function asRefusal(e: unknown): Promise<unknown> {
  let error: string | undefined;
  let description: string | undefined;
  let response: Response;
  if (e instanceof client.ResponseBodyError) {
    ({ error, error_description: description, response } = e);
  } else if (e instanceof client.WWWAuthenticateChallengeError) {
    response = e.response;
    const body = (await response.json().catch(() => ({}))) as { error?: unknown; error_description?: unknown };
    error = typeof body.error === 'string' ? body.error : 'invalid_client';
    description = typeof body.error_description === 'string' ? body.error_description : undefined;
  } else {
    return e;
  }
  return new MandateRefusal({
    code: error,
    status: response.status,
    at: 'token_endpoint',
    title: description ?? 'Token exchange refused',
    correlationId: response.headers.get('x-mandate-correlation-id'),
  });
}
