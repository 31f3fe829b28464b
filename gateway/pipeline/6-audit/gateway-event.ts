import type { AuditEvent, AuditKind } from './event.ts';

/**
 * What caused a gateway-originated event: the request that asked for it (admin API, tasks API,
 * approvals, a proxied call crossing a limit), a `mandate …` command, or the gateway itself.
 */
export interface EventOrigin {
  /** The request's trace id; a fresh one for a command or the gateway's own work. */
  readonly correlationId: string;
  /** The request's method; `CLI` for a command, `INTERNAL` for the gateway's own work. */
  readonly method: string;
  /** The request's path, or the command (`mandate revoke`) or work (`audit retention`). */
  readonly path: string;
  /** What was answered; null when nothing is (CLI, internal) or another event carries the answer. */
  readonly status: number | null;
}

/** The request columns such an event fills because its subject has them; every one left out is null. */
export type EventSubject = Partial<
  Pick<
    AuditEvent,
    | 'user'
    | 'agent'
    | 'actorChain'
    | 'jti'
    | 'txn'
    | 'intent'
    | 'action'
    | 'resourceType'
    | 'resourceId'
    | 'policyRevision'
  >
>;

/**
 * An audit event no proxied request carries — a revocation, a task suspended, an approval decided, a
 * segment removed by retention: the columns of a proxied call's decision (backend, decision, reason,
 * policy reasons, credential, duration, bytes) stay null, what the event is about fills the columns it
 * shares with calls (so `mandate audit query --user alice` finds it next to her calls), and its own
 * facts go in `detail`. One builder, so every such event has the same shape and a new column needs
 * one edit here, not one per kind.
 */
export function gatewayEvent(
  kind: AuditKind,
  atMs: number,
  origin: EventOrigin,
  subject: EventSubject,
  detail: Readonly<Record<string, unknown>>,
): AuditEvent {
  return {
    kind,
    time: new Date(atMs).toISOString(),
    correlationId: origin.correlationId,
    user: subject.user ?? null,
    agent: subject.agent ?? null,
    actorChain: subject.actorChain ?? null,
    jti: subject.jti ?? null,
    tokenHash: null,
    txn: subject.txn ?? null,
    authorizationDetails: null,
    intent: subject.intent ?? null,
    action: subject.action ?? null,
    resourceType: subject.resourceType ?? null,
    resourceId: subject.resourceId ?? null,
    method: origin.method,
    path: origin.path,
    backend: null,
    decision: null,
    reason: null,
    policyReasons: [],
    policyRevision: subject.policyRevision ?? null,
    credential: null,
    status: origin.status,
    durationMs: null,
    bytesIn: null,
    bytesOut: null,
    detail,
  };
}
