import type { Actor } from '../pipeline/1-authenticate/principal.ts';

/** Where an approval stands. Expiry and use are separate columns: an approved approval can expire or be used. */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected';

/**
 * A call held for its user's approval: exactly what the agent asked to do, bound to who asked. The
 * retry is forwarded only if it is the same request (digest) by the same user and agent chain.
 */
export interface Approval {
  /** `apr_` + 128 random bits, base64url: unguessable, so knowing one is not knowing another. */
  readonly id: string;
  readonly status: ApprovalStatus;
  /** The user the agent acts for (the delegation token's `sub`); only she may see and decide it. */
  readonly user: string;
  /** Outermost (current) actor first. */
  readonly agentChain: readonly Actor[];
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string | null;
  readonly method: string;
  /** Canonical path with the query string, as authorized and forwarded. */
  readonly target: string;
  /** The request body as the agent sent it (routes that buffer their body), shown to the user; else null. */
  readonly body: Buffer | null;
  /** Hex SHA-256 of method, target and body (request-digest.ts). */
  readonly digest: string;
  readonly policyRevision: string;
  readonly txn: string | null;
  readonly intent: string | null;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly decidedAtMs: number | null;
  /** The approving or rejecting user's `sub` at her identity provider. */
  readonly decidedBy: string | null;
  readonly usedAtMs: number | null;
  /** Correlation id of the call that asked for it. */
  readonly correlationId: string;
}

/** The approval as the API shows it to its user (snake_case, the body as text). */
export function approvalJson(a: Approval, nowMs: number): Record<string, unknown> {
  return {
    id: a.id,
    status: a.usedAtMs !== null ? 'used' : a.expiresAtMs <= nowMs ? 'expired' : a.status,
    user: a.user,
    agent_chain: a.agentChain.map((actor) => ({ sub: actor.sub, iss: actor.iss ?? null })),
    action: a.action,
    resource: { type: a.resourceType, id: a.resourceId },
    method: a.method,
    path: a.target,
    body: a.body === null ? null : a.body.toString('utf8'),
    intent: a.intent,
    txn: a.txn,
    policy_revision: a.policyRevision,
    created_at: new Date(a.createdAtMs).toISOString(),
    expires_at: new Date(a.expiresAtMs).toISOString(),
    decided_at: a.decidedAtMs === null ? null : new Date(a.decidedAtMs).toISOString(),
    decided_by: a.decidedBy,
    used_at: a.usedAtMs === null ? null : new Date(a.usedAtMs).toISOString(),
  };
}
