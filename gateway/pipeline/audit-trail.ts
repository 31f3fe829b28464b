import type { IncomingMessage } from 'node:http';
import type { MandateError } from '../errors.ts';
import type { Principal } from './1-authenticate/principal.ts';
import type { RouteMatch } from './2-resolve/route-match.ts';
import type { Decision } from './3-authorize/decision.ts';
import type { ForwardOutcome } from './5-forward/forward.ts';
import type { AuditEvent } from './6-audit/event.ts';

/**
 * Where events go: group commit into the SQLite store in production. `append` settles once the event
 * is committed and rejects with MANDATE_AUDIT_UNAVAILABLE when it cannot be. `appendRidingAlong` is
 * the same for an event nothing waits on, which may wait (briefly) to share the next commit.
 */
export interface AuditSink {
  append(event: AuditEvent): Promise<unknown>;
  appendRidingAlong(event: AuditEvent): Promise<unknown>;
}

/**
 * Collects what the pipeline has learned about one request, and turns it into audit events. A 401
 * knows only the method and path; an allowed call knows everything. Only the raw path (bounded) is
 * recorded before resolution, never the query string, which may carry a token.
 */
export class AuditTrail {
  readonly #sink: AuditSink;
  readonly #method: string;
  readonly #rawPath: string;
  readonly #correlationId: string;
  readonly #startedMs: number;
  principal: Principal | undefined;
  match: RouteMatch | undefined;
  decision: Decision | undefined;
  credential: string | undefined;
  /** Hex SHA-256 of a body read in stage 2b: what the policy judged and what will be forwarded. */
  bodySha256: string | undefined;

  constructor(sink: AuditSink, req: IncomingMessage, correlationId: string, startedMs: number) {
    this.#sink = sink;
    this.#method = req.method ?? '';
    this.#rawPath = (req.url ?? '').split('?', 1)[0]!.slice(0, 2048);
    this.#correlationId = correlationId;
    this.#startedMs = startedMs;
  }

  /** The allow, committed before anything is forwarded. */
  recordDecision(nowMs: number): Promise<unknown> {
    return this.#sink.append(this.#event('decision', nowMs, 'allow', null, null, null, null));
  }

  /** What the exchange with the backend produced; the second event of an allowed call. */
  recordOutcome(nowMs: number, outcome: ForwardOutcome): Promise<unknown> {
    const failure = outcome.failure;
    const status = failure && !outcome.responseStarted ? failure.entry.status : outcome.status;
    const event = this.#event(
      'outcome',
      nowMs,
      'allow',
      status,
      failure?.entry.reason ?? null,
      outcome.bytesIn,
      outcome.bytesOut,
    );
    // What went upstream: a streamed body is known only now, hashed on its way; a read one, since 2b.
    const bodySha256 = outcome.bodySha256 ?? this.bodySha256;
    if (bodySha256 !== undefined) event.detail = { body_sha256: bodySha256 };
    // The response has gone out: nothing waits on this event, so it shares the next decision's commit.
    return this.#sink.appendRidingAlong(event);
  }

  /** A refusal or error before forwarding: the single event of a denied call. */
  recordRefusal(nowMs: number, error: MandateError): Promise<unknown> {
    const { status, reason } = error.entry;
    const event = this.#event(status >= 500 ? 'error' : 'denial', nowMs, 'deny', status, reason, null, null);
    event.policyReasons = error.policyReasons;
    return this.#sink.append(event);
  }

  // Every field written out, in one literal: this runs twice per allowed call, and a literal with a
  // fixed shape is far cheaper for V8 than merging partial objects with a spread.
  #event(
    kind: AuditEvent['kind'],
    nowMs: number,
    decision: AuditEvent['decision'],
    status: number | null,
    reason: string | null,
    bytesIn: number | null,
    bytesOut: number | null,
  ): Mutable<AuditEvent> {
    const p = this.principal;
    const m = this.match;
    return {
      kind,
      time: new Date(nowMs).toISOString(),
      correlationId: this.#correlationId,
      // A background agent's token (`no_user`) has no person behind it: the agent is in `agent` only.
      user: p && !p.noUser ? p.user : null,
      agent: p?.agent.sub ?? null,
      actorChain: p?.chain ?? null,
      jti: p?.jti ?? null,
      tokenHash: p?.tokenHash ?? null,
      txn: p?.txn ?? null,
      authorizationDetails: p?.authorizationDetails ?? null,
      intent: p?.intent ?? null,
      action: m?.action ?? null,
      resourceType: m?.resource.type ?? null,
      resourceId: m?.resource.id ?? null,
      method: this.#method,
      path: m?.path ?? this.#rawPath,
      backend: m?.backend.name ?? null,
      decision,
      reason,
      policyReasons: this.decision?.reasons ?? [],
      policyRevision: this.decision?.policyRevision ?? null,
      credential: this.credential ?? null,
      status,
      durationMs: Math.round(nowMs - this.#startedMs),
      bytesIn,
      bytesOut,
      // A body read before the decision is part of what was decided on (STANDARDS: body SHA-256 in
      // the record written before forwarding).
      detail: this.bodySha256 === undefined ? null : { body_sha256: this.bodySha256 },
    };
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
