import type { IncomingMessage } from 'node:http';
import { OAuthError } from './oauth-error.ts';
import type { RegisteredAgent } from './registered-agent.ts';
import { unverifiedClaim } from './unverified-claim.ts';
import { verifyJwt } from './verify-jwt.ts';

const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientAuthContext {
  readonly agents: ReadonlyMap<string, RegisteredAgent>;
  /** Accepted `aud` of a client assertion: Mandate's issuer and its token endpoint (RFC 7523 §3). */
  readonly audiences: readonly string[];
  readonly clockSkewSeconds: number;
  readonly nowMs: number;
  /** Assertion ids seen, until they expire: an assertion authenticates one request only. */
  readonly seenAssertions: Map<string, number>;
}

/**
 * GW-TX-1: every request is client-authenticated, with `private_key_jwt` (RFC 7523 §2.2, as profiled
 * by OIDC Core §9) by a registered agent. One method only (RFC 6749 §2.3): an Authorization header
 * or a client_secret alongside is refused. Returns the authenticated agent.
 */
export async function authenticateClient(
  req: IncomingMessage,
  form: ReadonlyMap<string, string>,
  ctx: ClientAuthContext,
): Promise<RegisteredAgent> {
  if (req.headers.authorization !== undefined || form.has('client_secret')) {
    throw new OAuthError('invalid_client', 'client.unsupported_method');
  }
  const assertion = form.get('client_assertion');
  if (assertion === undefined) throw new OAuthError('invalid_client', 'client.unauthenticated');
  if (form.get('client_assertion_type') !== JWT_BEARER_ASSERTION) {
    throw new OAuthError('invalid_client', 'client.assertion_type');
  }
  // The issuer is the client: select its keys by the unverified `sub`, then require iss = sub = it.
  const claimed = unverifiedClaim(assertion, 'sub');
  const agent = claimed === undefined ? undefined : ctx.agents.get(claimed);
  if (!agent) throw new OAuthError('invalid_client', 'client.unknown');
  const clientId = form.get('client_id');
  if (clientId !== undefined && clientId !== agent.config.id)
    throw new OAuthError('invalid_client', 'client.id_mismatch');
  const claims = await verifyJwt(assertion, {
    keys: agent.keys,
    issuer: agent.config.id,
    subject: agent.config.id,
    audience: ctx.audiences,
    algorithms: agent.config.algorithms,
    types: [null, 'jwt', 'client-authentication+jwt'],
    clockSkewSeconds: ctx.clockSkewSeconds,
    nowMs: ctx.nowMs,
    error: 'invalid_client',
    what: 'client_assertion',
  });
  const { jti, exp } = claims as { jti?: unknown; exp: number };
  if (typeof jti !== 'string' || jti === '') throw new OAuthError('invalid_client', 'client_assertion.jti_missing');
  const nowSeconds = ctx.nowMs / 1000;
  // Oldest first (insertion order), stopping at the first still-live one: O(1) per request on
  // average. An entry kept a little past its expiry (inserted before one that lives longer) costs
  // memory only; an expired assertion is refused by its `exp` anyway.
  for (const [seen, until] of ctx.seenAssertions) {
    if (until >= nowSeconds) break;
    ctx.seenAssertions.delete(seen);
  }
  const key = `${agent.config.id}\n${jti}`;
  if (ctx.seenAssertions.has(key)) throw new OAuthError('invalid_client', 'client_assertion.replayed');
  ctx.seenAssertions.set(key, exp + ctx.clockSkewSeconds);
  return agent;
}
