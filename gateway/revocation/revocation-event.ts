import type { AuditEvent } from '../pipeline/6-audit/event.ts';
import type { Revocation } from './revocation.ts';

/** How a revocation arrived: the request to the admin API, or `mandate revoke`. */
export interface RevocationOrigin {
  readonly correlationId: string;
  readonly method: string;
  readonly path: string;
  readonly via: 'admin_api' | 'cli';
  /** What the admin API answered; null for the CLI. */
  readonly status: number | null;
}

/**
 * The audit event of one revocation (kind `revocation`). The revoked user, agent, task or token id
 * also fills its own column, so `mandate audit query --user alice` finds alice's sign-out next to her
 * calls; the facts are in `detail`: target, value, reason, who revoked, the state database row id.
 */
export function revocationEvent(revocation: Revocation, origin: RevocationOrigin, persisted: boolean): AuditEvent {
  const is = (target: Revocation['target']) => (revocation.target === target ? revocation.value : null);
  return {
    kind: 'revocation',
    time: new Date(revocation.revokedAtMs).toISOString(),
    correlationId: origin.correlationId,
    user: is('user'),
    agent: is('agent'),
    actorChain: null,
    jti: is('jti'),
    tokenHash: null,
    txn: is('txn'),
    authorizationDetails: null,
    intent: null,
    action: null,
    resourceType: null,
    resourceId: null,
    method: origin.method,
    path: origin.path,
    backend: null,
    decision: null,
    reason: null,
    policyReasons: [],
    policyRevision: null,
    credential: null,
    status: origin.status,
    durationMs: null,
    bytesIn: null,
    bytesOut: null,
    detail: {
      target: revocation.target,
      value: revocation.value,
      reason: revocation.reason,
      revoked_by: revocation.revokedBy,
      via: origin.via,
      // null when the state database refused it: in effect in the gateway process only.
      revocation_id: persisted ? revocation.id : null,
    },
  };
}
