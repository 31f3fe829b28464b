import Database from 'better-sqlite3';
import type { AuditEvent } from './event.ts';
import type { AuditRow } from './row.ts';
import { columnNames } from './schema.ts';

/** Which events `queryEvents` returns; every given filter must match. */
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
  readonly kind?: AuditEvent['kind'];
  /** Inclusive. */
  readonly since?: Date;
  /** Exclusive. */
  readonly until?: Date;
  /** At most this many events: the most recent ones. */
  readonly limit: number;
}

/**
 * Searches the audit database at `file` (opened read-only) and returns the most recent `limit`
 * matching rows, oldest first. Throws if the file cannot be read as an audit database.
 */
export function queryEvents(file: string, filter: AuditFilter): AuditRow[] {
  const { where, params } = toWhereClause(filter);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const sql = `SELECT ${columnNames.join(', ')} FROM events ${where} ORDER BY seq DESC LIMIT ?`;
    return db
      .prepare<unknown[], AuditRow>(sql)
      .all(...params, filter.limit)
      .reverse();
  } finally {
    db.close();
  }
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
  if (filter.user !== undefined) add('user = ?', filter.user);
  if (filter.agent !== undefined) add('agent = ?', filter.agent);
  if (filter.action !== undefined) add('action = ?', filter.action);
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
