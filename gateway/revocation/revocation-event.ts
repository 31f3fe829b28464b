import type { AuditEvent } from '../pipeline/6-audit/event.ts';
import { type EventOrigin, gatewayEvent } from '../pipeline/6-audit/gateway-event.ts';
import type { Revocation } from './revocation.ts';

/** How a revocation arrived: the request to the admin API, or `mandate revoke`. */
export interface RevocationOrigin extends EventOrigin {
  readonly via: 'admin_api' | 'cli';
}

/**
 * The audit event of one revocation (kind `revocation`). The revoked user, agent, task or token id
 * also fills its own column, so `mandate audit query --user alice` finds alice's sign-out next to her
 * calls; the facts are in `detail`: target, value, reason, who revoked, the state database row id.
 */
export function revocationEvent(revocation: Revocation, origin: RevocationOrigin, persisted: boolean): AuditEvent {
  const is = (target: Revocation['target']) => (revocation.target === target ? revocation.value : null);
  return gatewayEvent(
    'revocation',
    revocation.revokedAtMs,
    origin,
    { user: is('user'), agent: is('agent'), jti: is('jti'), txn: is('txn') },
    {
      target: revocation.target,
      value: revocation.value,
      reason: revocation.reason,
      revoked_by: revocation.revokedBy,
      via: origin.via,
      // null when the state database refused it: in effect in the gateway process only.
      revocation_id: persisted ? revocation.id : null,
    },
  );
}
