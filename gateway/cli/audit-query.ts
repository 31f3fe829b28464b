/**
 * `mandate audit query --db FILE [QUESTION] [filters] [--format table|json|csv]`: answers an auditor's
 * question, or searches the audit trail.
 *
 * Named questions (each needs the options shown; the other filters may narrow it further):
 * - `resource-access --resource TYPE:ID [--since] [--until]`: who accessed a resource, and on whose
 *   behalf — one row per call (the `calls` view: decision and outcome together, refusals too);
 * - `task --txn T`: the full story of one task, in chain order (tokens issued or refused, calls,
 *   decisions, outcomes, refusals, and any other event carrying the txn);
 * - `correlation --correlation-id C`: every event behind one correlation id (trace);
 * - `agent-activity --agent A --user U [--since] [--until]`: everything an agent did for a user.
 *
 * Without a question: every event matching the filters (`--user`, `--agent`, `--action`,
 * `--resource TYPE:ID|ID`, `--txn`, `--correlation-id`, `--decision allow|deny`, `--kind`, `--since ISO`
 * (inclusive), `--until ISO` (exclusive)).
 *
 * `--limit N` keeps the N most recent rows: default 100 for a search, 1000 for resource-access and
 * agent-activity, unlimited for task and correlation. When the limit cut rows off, a note on stderr
 * says so. Output is oldest first. `table` (default) shows a readable subset; `json` and `csv` every
 * column.
 *
 * Exit codes: 0 success (also when nothing matches); 2 usage error, or the file cannot be read as an
 * audit database.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { auditKinds } from '../pipeline/6-audit/event.ts';
import { callShape, eventShape, type Format, formats, type RowShape } from '../pipeline/6-audit/format.ts';
import { type AuditFilter, openAuditReader, searchCalls, searchEvents } from '../pipeline/6-audit/query.ts';
import { pairAcrossSegments, readAcross } from '../pipeline/6-audit/read-segments.ts';

const usage = `usage: mandate audit query --db FILE [QUESTION] [filters] [--limit N] [--format table|json|csv]
questions:
  resource-access --resource TYPE:ID [--since ISO] [--until ISO]   who accessed it, on whose behalf (one row per call)
  task --txn T                                                     the task's full story, in order
  correlation --correlation-id C                                   every event behind one correlation id
  agent-activity --agent A --user U [--since ISO] [--until ISO]    everything an agent did for a user
filters (without a question, or to narrow one):
  [--user U] [--agent A] [--action ACTION] [--resource TYPE:ID|ID] [--txn T] [--correlation-id C]
  [--decision allow|deny] [--kind KIND] [--since ISO] [--until ISO]`;

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
  limit: { type: 'string' },
  format: { type: 'string', default: 'table' },
} as const;

type Flag = keyof typeof options;

interface Question {
  /** Options the question cannot be asked without. */
  readonly requires: readonly Flag[];
  /** Calls (one row per proxy call) or events. */
  readonly rows: 'calls' | 'events';
  /** Default `--limit`; undefined: every matching row. */
  readonly limit: number | undefined;
}

const questions = {
  'resource-access': { requires: ['resource'], rows: 'calls', limit: 1000 },
  task: { requires: ['txn'], rows: 'events', limit: undefined },
  correlation: { requires: ['correlation-id'], rows: 'events', limit: undefined },
  'agent-activity': { requires: ['agent', 'user'], rows: 'events', limit: 1000 },
} as const satisfies Record<string, Question>;

type QuestionName = keyof typeof questions;

const search: Question = { requires: [], rows: 'events', limit: 100 };

const decisions = ['allow', 'deny'] as const;

interface Request {
  readonly db: string;
  readonly question: Question;
  readonly filter: AuditFilter;
  readonly format: Format;
}

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let request: Request;
  try {
    request = parseRequest(args);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const { question, filter, format } = request;
  let output: string;
  let count: number;
  try {
    openAuditReader(request.db).close(); // the active database must exist; segments are optional
    // Across the sealed segments too (read-segments.ts), newest file first until the limit is reached.
    const rows =
      question.rows === 'calls'
        ? pairAcrossSegments(
            request.db,
            readAcross(request.db, filter.limit, (db) => searchCalls(db, filter)),
          )
        : readAcross(request.db, filter.limit, (db) => searchEvents(db, filter));
    count = rows.length;
    const shape = (question.rows === 'calls' ? callShape : eventShape) as RowShape<(typeof rows)[number]>;
    output = formats[format](rows, shape);
  } catch (error) {
    process.stderr.write(`cannot read audit database ${request.db}: ${(error as Error).message}\n`);
    return 2;
  }
  process.stdout.write(output);
  if (filter.limit !== undefined && count === filter.limit) {
    process.stderr.write(`note: showing the ${count} most recent rows; --limit N shows more\n`);
  }
  return 0;
}

function parseRequest(args: string[]): Request {
  const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
  if (values.db === undefined) throw new Error('--db is required');
  if (positionals.length > 1) throw new Error(`one question at a time, got: ${positionals.join(' ')}`);
  const name = positionals[0];
  const question: Question =
    name === undefined ? search : questions[oneOf('question', name, Object.keys(questions) as QuestionName[])];
  for (const flag of question.requires) {
    if (values[flag] === undefined) throw new Error(`${name} needs --${flag}`);
  }
  if (question.rows === 'calls' && values.kind !== undefined)
    throw new Error(`${name} lists calls: --kind does not apply`);
  return {
    db: values.db,
    question,
    format: oneOf('--format', values.format, Object.keys(formats) as Format[]),
    filter: {
      user: values.user,
      agent: values.agent,
      action: values.action,
      resource: values.resource,
      txn: values.txn,
      correlationId: values['correlation-id'],
      decision: values.decision === undefined ? undefined : oneOf('--decision', values.decision, decisions),
      kind: values.kind === undefined ? undefined : oneOf('--kind', values.kind, auditKinds),
      since: values.since === undefined ? undefined : timestamp('--since', values.since),
      until: values.until === undefined ? undefined : timestamp('--until', values.until),
      limit: values.limit === undefined ? question.limit : positiveInteger('--limit', values.limit),
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
