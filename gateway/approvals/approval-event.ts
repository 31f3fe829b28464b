import type { AuditEvent } from '../pipeline/6-audit/event.ts';
import { type EventOrigin, gatewayEvent } from '../pipeline/6-audit/gateway-event.ts';
import type { Approval } from './approval.ts';

/** The request that changed the approval: the agent's call (requested, used) or the user's decision. */
export interface ApprovalOrigin extends EventOrigin {
  readonly nowMs: number;
  /** How the user decided: the API (her IdP token) or the page (her login session). */
  readonly via?: 'api' | 'page';
}

/**
 * One step in an approval's life, in the audit chain: `approval_requested` (the call held),
 * `approval_granted` / `approval_rejected` (the user's decision), `approval_used` (the retry that was
 * forwarded). The held call's user, agent chain, action and resource fill their columns, so a task's
 * timeline shows them next to its calls; `detail` has the approval id, request digest and expiry.
 */
export function approvalEvent(
  kind: 'approval_requested' | 'approval_granted' | 'approval_rejected' | 'approval_used',
  approval: Approval,
  origin: ApprovalOrigin,
): AuditEvent {
  return gatewayEvent(
    kind,
    origin.nowMs,
    origin,
    {
      user: approval.user,
      agent: approval.agentChain[0]?.sub ?? null,
      actorChain: approval.agentChain,
      txn: approval.txn,
      intent: approval.intent,
      action: approval.action,
      resourceType: approval.resourceType,
      resourceId: approval.resourceId,
      policyRevision: approval.policyRevision,
    },
    {
      approval_id: approval.id,
      request: `${approval.method} ${approval.target}`,
      request_digest: approval.digest,
      expires_at: new Date(approval.expiresAtMs).toISOString(),
      ...(kind === 'approval_granted' || kind === 'approval_rejected'
        ? { decided_by: approval.decidedBy, via: origin.via ?? null }
        : {}),
    },
  );
}
