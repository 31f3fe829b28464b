import type { AuditEvent } from '../pipeline/6-audit/event.ts';
import type { Approval } from './approval.ts';

/** The request that changed the approval: the agent's call (requested, used) or the user's decision. */
export interface ApprovalOrigin {
  readonly correlationId: string;
  readonly method: string;
  readonly path: string;
  readonly nowMs: number;
  /** What was answered; null when the call goes on (used: the outcome event has the status). */
  readonly status: number | null;
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
  return {
    kind,
    time: new Date(origin.nowMs).toISOString(),
    correlationId: origin.correlationId,
    user: approval.user,
    agent: approval.agentChain[0]?.sub ?? null,
    actorChain: approval.agentChain,
    jti: null,
    tokenHash: null,
    txn: approval.txn,
    authorizationDetails: null,
    intent: approval.intent,
    action: approval.action,
    resourceType: approval.resourceType,
    resourceId: approval.resourceId,
    method: origin.method,
    path: origin.path,
    backend: null,
    decision: null,
    reason: null,
    policyReasons: [],
    policyRevision: approval.policyRevision,
    credential: null,
    status: origin.status,
    durationMs: null,
    bytesIn: null,
    bytesOut: null,
    detail: {
      approval_id: approval.id,
      request: `${approval.method} ${approval.target}`,
      request_digest: approval.digest,
      expires_at: new Date(approval.expiresAtMs).toISOString(),
      ...(kind === 'approval_granted' || kind === 'approval_rejected'
        ? { decided_by: approval.decidedBy, via: origin.via ?? null }
        : {}),
    },
  };
}
