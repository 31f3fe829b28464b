/**
 * `mandate audit query --db FILE [filters] [--format table|json|csv]`: searches the audit trail.
 *
 * Filters (all optional, combined with AND): `--user`, `--agent`, `--action`, `--resource TYPE:ID|ID`,
 * `--txn`, `--correlation-id`, `--decision allow|deny`, `--kind decision|outcome|denial|error`,
 * `--since ISO` (inclusive), `--until ISO` (exclusive), `--limit N` (the N most recent, default 100).
 * Output is oldest first. `table` (default) shows a readable subset; `json` and `csv` every column.
 *
 * Exit codes: 0 success (also when nothing matches); 2 usage error, or the file cannot be read as an
 * audit database.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import type { AuditEvent } from '../pipeline/6-audit/event.ts';
import { type Format, formats } from '../pipeline/6-audit/format.ts';
import { type AuditFilter, queryEvents } from '../pipeline/6-audit/query.ts';
import type { AuditRow } from '../pipeline/6-audit/row.ts';

const usage = `usage: mandate audit query --db FILE [--user U] [--agent A] [--action ACTION]
  [--resource TYPE:ID|ID] [--txn T] [--correlation-id C] [--decision allow|deny]
  [--kind decision|outcome|denial|error] [--since ISO] [--until ISO] [--limit N]
  [--format table|json|csv]`;

const options = {
  db: { type: 'string' },
  user: { type: 'string' },
  agent: { type: 'string' },
  action: { type: 'string' },
  resource: { type: 'string' },
  txn: { type: 'string' },
  'correlation-id': { type: 'string' },
  decision: { type: 'string' },
  kind: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string', default: '100' },
  format: { type: 'string', default: 'table' },
} as const;

const decisions = ['allow', 'deny'] as const;
const kinds = [
  'decision',
  'outcome',
  'denial',
  'error',
  'token_issued',
  'token_refused',
  'revocation',
] as const satisfies readonly AuditEvent['kind'][];

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let request: { db: string; filter: AuditFilter; format: Format };
  try {
    request = parseRequest(args);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  let rows: AuditRow[];
  try {
    rows = queryEvents(request.db, request.filter);
  } catch (error) {
    process.stderr.write(`cannot read audit database ${request.db}: ${(error as Error).message}\n`);
    return 2;
  }
  process.stdout.write(formats[request.format](rows));
  return 0;
}

function parseRequest(args: string[]): { db: string; filter: AuditFilter; format: Format } {
  const { values } = parseArgs({ args, options, strict: true });
  if (values.db === undefined) throw new Error('--db is required');
  return {
    db: values.db,
    format: oneOf('--format', values.format, Object.keys(formats) as readonly Format[]),
    filter: {
      user: values.user,
      agent: values.agent,
      action: values.action,
      resource: values.resource,
      txn: values.txn,
      correlationId: values['correlation-id'],
      decision: values.decision === undefined ? undefined : oneOf('--decision', values.decision, decisions),
      kind: values.kind === undefined ? undefined : oneOf('--kind', values.kind, kinds),
      since: values.since === undefined ? undefined : timestamp('--since', values.since),
      until: values.until === undefined ? undefined : timestamp('--until', values.until),
      limit: positiveInteger('--limit', values.limit),
    },
  };
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(`${flag}: expected one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

/** ISO 8601 date or date-time; without an offset it is UTC, like the stored times. */
function timestamp(flag: string, value: string): Date {
  const match = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:\d{2})?)?$/.exec(value);
  const date = match ? new Date(`${match[1]}T${match[2] ?? '00:00'}${match[3] ?? 'Z'}`) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new Error(`${flag}: expected an ISO 8601 timestamp (e.g. 2026-07-01T12:00:00Z), got "${value}"`);
  }
  return date;
}

function positiveInteger(flag: string, value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new Error(`${flag}: expected a positive integer, got "${value}"`);
  return Number(value);
}
