import type { AuditEvent } from './event.ts';
import { columnNames } from './schema.ts';

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
 * A row in positional form: the chained columns' values in `chainedColumns` order (RFC 8785's key
 * order), then `prev_hash` and `hash`. It is what the event loop hands the audit writer (group-commit.ts)
 * and what the writer hashes and binds, slot for slot (store.ts), with `seq`, `prev_hash` and `hash`
 * filled in there; verify reads rows back in the same order (verify.ts). An array rather than an
 * object keyed by column: V8 reads an object's 28 columns by a key that changes every time through
 * a slow, megamorphic lookup, measured at ≈ 7% of the writer thread's CPU, and the hand-over's JSON
 * carries no column names.
 */
export type RowValues = unknown[];

/** The columns a row's hash covers, sorted as RFC 8785 sorts keys (UTF-16 code units). */
export const chainedColumns = columnNames
  .filter((c) => c !== 'prev_hash' && c !== 'hash')
  .sort() as readonly (keyof ChainedFields)[];
/** The columns of a `RowValues`, slot by slot: what the store inserts and verify selects. */
export const rowColumns: readonly (keyof AuditRow)[] = [...chainedColumns, 'prev_hash', 'hash'];
/** Slots of a `RowValues`. */
export const ROW = {
  seq: rowColumns.indexOf('seq'),
  time: rowColumns.indexOf('time'),
  kind: rowColumns.indexOf('kind'),
  detail: rowColumns.indexOf('detail'),
  prevHash: rowColumns.indexOf('prev_hash'),
  hash: rowColumns.indexOf('hash'),
} as const;

/**
 * The one translation from the pipeline's `AuditEvent` to stored column values, as a `RowValues`
 * whose `seq`, `prev_hash` and `hash` are still null.
 *
 * Values are normalised so that what is hashed is exactly what SQLite gives back when `verify` reads
 * the row: SQLite stores UTF-8, so a lone surrogate (possible in token claims such as `intent`)
 * would come back as U+FFFD — it is replaced before hashing; non-finite numbers have no JSON form
 * and become null.
 *
 * One literal, slot by slot in `chainedColumns` order; test/unit/6-audit/row.test.ts holds it there.
 */
export function toRow(event: AuditEvent): RowValues {
  return [
    textOrNull(event.action),
    jsonOrNull(event.actorChain),
    textOrNull(event.agent),
    jsonOrNull(event.authorizationDetails),
    textOrNull(event.backend),
    finiteOrNull(event.bytesIn),
    finiteOrNull(event.bytesOut),
    text(event.correlationId),
    textOrNull(event.credential),
    event.decision,
    jsonOrNull(event.detail),
    finiteOrNull(event.durationMs),
    textOrNull(event.intent),
    textOrNull(event.jti),
    event.kind,
    text(event.method),
    text(event.path),
    JSON.stringify(event.policyReasons),
    textOrNull(event.policyRevision),
    textOrNull(event.reason),
    textOrNull(event.resourceId),
    textOrNull(event.resourceType),
    null, // seq
    finiteOrNull(event.status),
    event.time,
    textOrNull(event.tokenHash),
    textOrNull(event.txn),
    textOrNull(event.user),
    null, // prev_hash
    null, // hash
  ];
}

/** The chained fields of a row, as an object keyed by column (for readers and tests). */
export function toChainedFields(event: AuditEvent, seq: number): ChainedFields {
  const row = toRow(event);
  row[ROW.seq] = seq;
  return chainedFieldsOf(row);
}

/** A `RowValues`' chained slots as an object keyed by column. */
export function chainedFieldsOf(row: readonly unknown[]): ChainedFields {
  return Object.fromEntries(chainedColumns.map((c, i) => [c, row[i]])) as unknown as ChainedFields;
}

const text = (value: string): string => value.toWellFormed();
const textOrNull = (value: string | null): string | null => (value === null ? null : value.toWellFormed());
// JSON.stringify escapes lone surrogates (\udXXX), so its output is always well formed.
const jsonOrNull = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));
const finiteOrNull = (value: number | null): number | null => (value !== null && Number.isFinite(value) ? value : null);
