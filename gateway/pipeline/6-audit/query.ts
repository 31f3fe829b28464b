import Database from 'better-sqlite3';
import type { CallRow } from './calls.ts';
import { callColumns } from './calls.ts';
import type { AuditEvent } from './event.ts';
import { eventTables, unionOf } from './recent-events.ts';
import type { AuditRow } from './row.ts';
import { columnNames } from './schema.ts';

/** Which events (or calls) a search returns; every given filter must match. */
export interface AuditFilter {
  readonly user?: string;
  readonly agent?: string;
  readonly action?: string;
  /**
   * `type:id` matches that type and id, or an id that itself contains the colon (URNs); a value without
   * a colon matches that id whatever its type.
   */
  readonly resource?: string;
  readonly txn?: string;
  readonly correlationId?: string;
  readonly decision?: 'allow' | 'deny';
  /** Events only: a call (see calls.ts) has no single kind. */
  readonly kind?: AuditEvent['kind'];
  /** Inclusive. */
  readonly since?: Date;
  /** Exclusive. */
  readonly until?: Date;
  /** At most this many rows: the most recent ones. Undefined: all of them. */
  readonly limit: number | undefined;
}

/**
 * Opens the audit database at `file` for reading only: a separate connection that can never write,
 * and in WAL mode never blocks (nor is blocked by) the gateway's appends. Throws if it cannot.
 */
export function openAuditReader(file: string): Database.Database {
  return new Database(file, { readonly: true, fileMustExist: true });
}

/**
 * Searches the audit database at `file` and returns the most recent `limit` matching events, oldest
 * first. Throws if the file cannot be read as an audit database.
 */
export function queryEvents(file: string, filter: AuditFilter): AuditRow[] {
  const db = openAuditReader(file);
  try {
    return searchEvents(db, filter);
  } finally {
    db.close();
  }
}

/** The most recent `limit` events matching `filter`, oldest first (chain order). */
export function searchEvents(db: Database.Database, filter: AuditFilter): AuditRow[] {
  return search<AuditRow>(db, eventTables(db), columnNames, filter);
}

/** The most recent `limit` calls (one row per proxy call, see calls.ts) matching `filter`, oldest first. */
export function searchCalls(db: Database.Database, filter: AuditFilter): CallRow[] {
  if (filter.kind !== undefined) throw new Error('calls have no kind: a kind filter applies to events only');
  return search<CallRow>(db, ['calls'], callColumns, filter);
}

/**
 * The search over each of `from` (`events` and `recent_events`, each with its own indexes and rowid
 * order, or the `calls` view) as one statement: one snapshot, the latest `limit` of each, merged.
 */
function search<R>(
  db: Database.Database,
  from: readonly string[],
  columns: readonly string[],
  filter: AuditFilter,
): R[] {
  const { where, params } = toWhereClause(filter);
  const sql = unionOf(
    from,
    (table) => `SELECT ${columns.join(', ')} FROM ${table} ${where} ORDER BY seq DESC LIMIT ?`,
    'ORDER BY seq DESC LIMIT ?',
  );
  // LIMIT -1: no limit.
  const limit = filter.limit ?? -1;
  return db
    .prepare<unknown[], R>(sql)
    .all(...from.flatMap(() => [...params, limit]), limit)
    .reverse();
}

/**
 * Filters become SQL conditions over fixed column names; every value the user typed is a bound
 * parameter, never part of the SQL text.
 */
function toWhereClause(filter: AuditFilter): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, ...values: unknown[]) => {
    conditions.push(condition);
    params.push(...values);
  };
  // The agent and action indexes answer "the latest N of this agent/action" (entries in seq order), but
  // each key matches a large share of the table. SQLite keeps no statistics here and would pick them
  // over a user, a resource, a task or a time window, then read millions of rows (measured: 0.7–2.8 s at
  // 10 million events). A unary + takes a column out of index selection, so the narrower index is used.
  const narrower = [filter.user, filter.resource, filter.txn, filter.correlationId, filter.since, filter.until];
  const broad = (column: string) => (narrower.some((v) => v !== undefined) ? `+${column}` : column);
  if (filter.user !== undefined) add('user = ?', filter.user);
  if (filter.agent !== undefined) add(`${broad('agent')} = ?`, filter.agent);
  if (filter.action !== undefined) add(`${broad('action')} = ?`, filter.action);
  if (filter.resource !== undefined) {
    const colon = filter.resource.indexOf(':');
    if (colon < 0) add('resource_id = ?', filter.resource);
    else {
      // Ids may contain colons themselves (URNs): `a:b` is type a + id b, or id `a:b` of any type.
      const [type, id] = [filter.resource.slice(0, colon), filter.resource.slice(colon + 1)];
      add('((resource_type = ? AND resource_id = ?) OR resource_id = ?)', type, id, filter.resource);
    }
  }
  if (filter.txn !== undefined) add('txn = ?', filter.txn);
  if (filter.correlationId !== undefined) add('correlation_id = ?', filter.correlationId);
  if (filter.decision !== undefined) add('decision = ?', filter.decision);
  if (filter.kind !== undefined) add('kind = ?', filter.kind);
  // Stored times are ISO 8601 UTC with milliseconds, so they compare correctly as strings.
  if (filter.since !== undefined) add('time >= ?', filter.since.toISOString());
  if (filter.until !== undefined) add('time < ?', filter.until.toISOString());
  return { where: conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`, params };
}
