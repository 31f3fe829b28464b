import type { Actor } from '../1-authenticate/principal.ts';

/**
 * What an event records. Proxy calls: `decision` + `outcome` (allowed), `denial`, `error`. The token
 * service and the admin surfaces add their own kinds; the store accepts any lower-case name, so a new
 * kind needs no schema migration, and this list is where kinds are declared (`mandate audit query
 * --kind` accepts exactly these).
 */
export const auditKinds = [
  'decision',
  'outcome',
  'denial',
  'error',
  'token_issued',
  'token_refused',
  'revocation',
  // a sealed segment removed by retention (retention-event.ts)
  'retention',
  // human approval of held calls (gateway/approvals/approval-event.ts)
  'approval_requested',
  'approval_granted',
  'approval_rejected',
  'approval_used',
  // a task suspended (a limit crossed, or the kill switch) or resumed
  'task_suspended',
  'task_resumed',
  // a task ended for going unused (gateway/limits/task-event.ts)
  'task_ended',
] as const;

export type AuditKind = (typeof auditKinds)[number];

/**
 * One audit event as the pipeline records it. Denials and errors are one event; an allowed call is a
 * `decision` event (committed before the first byte goes upstream) and an `outcome` event.
 * Fields the pipeline does not know yet (e.g. route on a 401) are null. Never a token or secret.
 */
export interface AuditEvent {
  readonly kind: AuditKind;
  /** ISO 8601 UTC with milliseconds. */
  readonly time: string;
  /** W3C trace id of the request. */
  readonly correlationId: string;
  readonly user: string | null;
  /** The current actor's sub. */
  readonly agent: string | null;
  /** Full actor chain, outermost first. */
  readonly actorChain: readonly Actor[] | null;
  readonly jti: string | null;
  readonly tokenHash: string | null;
  readonly txn: string | null;
  readonly authorizationDetails: readonly unknown[] | null;
  readonly intent: string | null;
  readonly action: string | null;
  readonly resourceType: string | null;
  readonly resourceId: string | null;
  readonly method: string;
  /** Canonical path when resolved, otherwise the raw request path (truncated). */
  readonly path: string;
  readonly backend: string | null;
  readonly decision: 'allow' | 'deny' | null;
  /** Catalogue audit reason (`stage.condition`), e.g. authn.token_expired; null for an allow. */
  readonly reason: string | null;
  /** Reasons returned by the policy. */
  readonly policyReasons: readonly string[];
  readonly policyRevision: string | null;
  /** Name of the injected service credential (never its value). */
  readonly credential: string | null;
  /** HTTP status returned to the agent (outcome/denial/error). */
  readonly status: number | null;
  readonly durationMs: number | null;
  readonly bytesIn: number | null;
  readonly bytesOut: number | null;
  /**
   * Facts particular to the kind, as a flat-or-nested JSON object: e.g. for token events the requested
   * and the granted scope and authorization_details. For proxy calls, whose facts have columns, only
   * `body_sha256` (hex SHA-256 of the request body): on every event of a call whose body the route reads
   * (routes.yaml `body:`), and on the outcome of any call that sent a body; otherwise null.
   */
  readonly detail: Readonly<Record<string, unknown>> | null;
}

/** An event as stored: the chain fields added by the store. */
export interface StoredEvent extends AuditEvent {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}
