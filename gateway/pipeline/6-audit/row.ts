import type { AuditEvent } from './event.ts';

/**
 * An audit row exactly as stored in the `events` table (snake_case, the boundary format auditors read).
 * JSON columns hold JSON text. Every column except `prev_hash` and `hash` is covered by the row's hash.
 */
export interface AuditRow extends ChainedFields {
  /** `hash` of the row before (seq − 1); 64 zeros for seq 1. */
  readonly prev_hash: string;
  /** hex SHA-256 over `prev_hash` and this row's chained fields: see chain.ts. */
  readonly hash: string;
}

/** The columns a row's hash covers, values exactly as stored. */
export interface ChainedFields {
  /** 1, 2, 3… with no gaps: a gap means a deleted row. */
  readonly seq: number;
  readonly time: string;
  readonly correlation_id: string;
  readonly kind: AuditEvent['kind'];
  readonly user: string | null;
  readonly agent: string | null;
  /** JSON array of `{sub, iss?}`, outermost actor first. */
  readonly actor_chain: string | null;
  readonly jti: string | null;
  readonly token_hash: string | null;
  readonly txn: string | null;
  /** JSON array (RFC 9396). */
  readonly authorization_details: string | null;
  readonly intent: string | null;
  readonly action: string | null;
  readonly resource_type: string | null;
  readonly resource_id: string | null;
  readonly method: string;
  readonly path: string;
  readonly backend: string | null;
  readonly decision: AuditEvent['decision'];
  readonly reason: string | null;
  /** JSON array of strings, `[]` when the policy gave none. */
  readonly policy_reasons: string;
  readonly policy_revision: string | null;
  readonly credential: string | null;
  readonly status: number | null;
  readonly duration_ms: number | null;
  readonly bytes_in: number | null;
  readonly bytes_out: number | null;
  /** JSON object of kind-specific facts (see AuditEvent.detail), or null. */
  readonly detail: string | null;
}

/** Columns holding JSON text; `mandate audit query --format json` parses them. */
export const jsonColumns = ['actor_chain', 'authorization_details', 'policy_reasons', 'detail'] as const;

/**
 * The one translation from the pipeline's `AuditEvent` to stored column values.
 *
 * Values are normalised so that what is hashed is exactly what SQLite gives back when `verify` reads
 * the row: SQLite stores UTF-8, so a lone surrogate (possible in token claims such as `intent`)
 * would come back as U+FFFD — it is replaced before hashing; non-finite numbers have no JSON form
 * and become null.
 */
export function toChainedFields(event: AuditEvent, seq: number): ChainedFields {
  return {
    seq,
    time: event.time,
    correlation_id: text(event.correlationId),
    kind: event.kind,
    user: textOrNull(event.user),
    agent: textOrNull(event.agent),
    actor_chain: jsonOrNull(event.actorChain),
    jti: textOrNull(event.jti),
    token_hash: textOrNull(event.tokenHash),
    txn: textOrNull(event.txn),
    authorization_details: jsonOrNull(event.authorizationDetails),
    intent: textOrNull(event.intent),
    action: textOrNull(event.action),
    resource_type: textOrNull(event.resourceType),
    resource_id: textOrNull(event.resourceId),
    method: text(event.method),
    path: text(event.path),
    backend: textOrNull(event.backend),
    decision: event.decision,
    reason: textOrNull(event.reason),
    policy_reasons: JSON.stringify(event.policyReasons),
    policy_revision: textOrNull(event.policyRevision),
    credential: textOrNull(event.credential),
    status: finiteOrNull(event.status),
    duration_ms: finiteOrNull(event.durationMs),
    bytes_in: finiteOrNull(event.bytesIn),
    bytes_out: finiteOrNull(event.bytesOut),
    detail: jsonOrNull(event.detail),
  };
}

const text = (value: string): string => value.toWellFormed();
const textOrNull = (value: string | null): string | null => (value === null ? null : value.toWellFormed());
// JSON.stringify escapes lone surrogates (\udXXX), so its output is always well formed.
const jsonOrNull = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));
const finiteOrNull = (value: number | null): number | null => (value !== null && Number.isFinite(value) ? value : null);
