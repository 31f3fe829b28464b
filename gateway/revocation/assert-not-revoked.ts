import { MandateError } from '../errors.ts';
import type { Principal } from '../pipeline/1-authenticate/principal.ts';
import type { RevocationSubject } from './revocation.ts';

/** What revocation needs to know; `Revocations` in the gateway. */
export interface RevocationCheck {
  isRevoked(subject: RevocationSubject): boolean;
}

/**
 * The facts of a verified delegation token that a revocation can name. A background agent's token
 * (`no_user`) has the agent as `sub`: it has no user to sign out, and revoking the agent revokes it.
 */
export function revocationSubject(principal: Principal): RevocationSubject {
  const agents = principal.chain.map((actor) => actor.sub);
  return {
    jti: principal.jti,
    user: principal.noUser ? null : principal.user,
    agents: principal.noUser ? [principal.user, ...agents] : agents,
    txn: principal.txn ?? null,
    issuedAtSeconds: principal.issuedAt,
  };
}

/**
 * Refuses a revoked token with 401 MANDATE_AUTHN_TOKEN_REVOKED. Runs on every request, after the
 * verified-token cache: a cached token is revoked the moment its revocation is recorded.
 */
export function assertNotRevoked(revocations: RevocationCheck, principal: Principal): void {
  if (revocations.isRevoked(revocationSubject(principal))) throw new MandateError('MANDATE_AUTHN_TOKEN_REVOKED');
}
