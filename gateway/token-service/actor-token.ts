import { OAuthError } from './oauth-error.ts';
import type { RegisteredAgent } from './registered-agent.ts';
import { TOKEN_TYPE } from './token-types.ts';
import { unverifiedClaim } from './unverified-claim.ts';
import { verifyJwt } from './verify-jwt.ts';

export interface ActorContext {
  /** Accepted `aud` of an actor token: Mandate's issuer and its token endpoint. */
  readonly audiences: readonly string[];
  readonly clockSkewSeconds: number;
  readonly nowMs: number;
}

/**
 * Verifies `actor_token` (RFC 8693 §2.1): the agent's own JWT, signed by its registered key, `iss` =
 * `sub` = the agent, addressed to Mandate. GW-TX-2: the actor must be the authenticated client —
 * another agent's actor token (an actor swap) is refused before its signature is even looked at.
 * Returns the token's `exp` (GW-TX-7 bounds the issued token by it).
 */
export async function verifyActor(
  token: string | undefined,
  type: string | undefined,
  client: RegisteredAgent,
  ctx: ActorContext,
): Promise<number> {
  if (token === undefined) throw new OAuthError('invalid_request', 'actor_token.missing');
  if (type !== TOKEN_TYPE.jwt) throw new OAuthError('invalid_request', 'actor_token.type_unsupported');
  if (unverifiedClaim(token, 'sub') !== client.config.id)
    throw new OAuthError('invalid_request', 'actor_token.not_client');
  const claims = await verifyJwt(token, {
    keys: client.keys,
    issuer: client.config.id,
    subject: client.config.id,
    audience: ctx.audiences,
    algorithms: client.config.algorithms,
    types: [null, 'jwt'],
    clockSkewSeconds: ctx.clockSkewSeconds,
    nowMs: ctx.nowMs,
    error: 'invalid_request',
    what: 'actor_token',
  });
  return claims.exp as number;
}
