import Database from 'better-sqlite3';
import { overEventTables } from './recent-events.ts';
import { columnNames } from './schema.ts';

/** Which rows to export. The result is always one contiguous stretch of seqs, so it re-verifies. */
export interface ExportRange {
  /** First seq (inclusive). */
  readonly fromSeq?: number;
  /** From the first event whose time is ≥ this ISO 8601 instant. */
  readonly since?: string;
  /** Up to the last event whose time is < this instant. */
  readonly until?: string;
}

/**
 * The rows of `files` (the trail's files in chain order: sealed segments, then the active database)
 * as JSON Lines, in seq order: each line one JSON object with every column of `events` exactly as
 * stored (JSON columns stay JSON text, as hashed) including `prev_hash` and `hash`, so anyone can
 * re-verify the chain without Mandate (README "Export"); a segment's first row links to the previous
 * segment's last, so the lines of consecutive files form one chain. Time bounds are turned into one
 * seq range over all the files (events are committed in seq order, not strictly in time order, and a
 * gap would break the chain), so the export holds every event from the first at/after `since` to the
 * last before `until`. Yields chunks of lines, for a writer that respects backpressure.
 */
export function* exportEvents(files: string | readonly string[], range: ExportRange = {}): Generator<string> {
  const all = typeof files === 'string' ? [files] : files;
  const bound = (aggregate: 'min(seq)' | 'max(seq)', where: string, time: string, pick: (seqs: number[]) => number) => {
    const seqs = all.flatMap((file) => withReader(file, (db) => seqAt(db, aggregate, where, time) ?? []));
    return seqs.length === 0 ? undefined : pick(seqs);
  };
  const first = Math.max(
    range.fromSeq ?? 1,
    range.since === undefined
      ? 1
      : (bound('min(seq)', 'time >= @time', range.since, (s) => Math.min(...s)) ?? Infinity),
  );
  const last =
    range.until === undefined
      ? Number.MAX_SAFE_INTEGER
      : (bound('max(seq)', 'time < @time', range.until, (s) => Math.max(...s)) ?? 0);
  if (first > last) return;
  for (const file of all) yield* exportFile(file, first, last);
}

function* exportFile(file: string, first: number, last: number): Generator<string> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(
        overEventTables(
          db,
          (table) => `SELECT ${columnNames.join(', ')} FROM ${table} WHERE seq BETWEEN @first AND @last`,
          'ORDER BY seq',
        ),
      )
      .raw()
      .iterate({ first, last }) as IterableIterator<unknown[]>;
    let chunk = '';
    for (const row of rows) {
      const line: Record<string, unknown> = {};
      for (let i = 0; i < columnNames.length; i++) line[columnNames[i]!] = row[i];
      chunk += `${JSON.stringify(line)}\n`;
      if (chunk.length > 1 << 20) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk !== '') yield chunk;
  } finally {
    db.close();
  }
}

function withReader<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** The min or max seq among the rows matching `where` (`@time`), over both event tables. */
function seqAt(db: Database.Database, aggregate: string, where: string, time: string): number | undefined {
  const perTable = overEventTables(db, (table) => `SELECT ${aggregate} AS seq FROM ${table} WHERE ${where}`);
  return (db.prepare(`SELECT ${aggregate} FROM (${perTable})`).pluck().get({ time }) as number | null) ?? undefined;
}
