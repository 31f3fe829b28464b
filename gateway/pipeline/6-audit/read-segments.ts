import type Database from 'better-sqlite3';
import type { CallRow } from './calls.ts';
import { openAuditReader } from './query.ts';
import { overEventTables } from './recent-events.ts';
import { chainFiles, listSegments } from './segments.ts';
import { outcomeOf } from './views.ts';

/**
 * Runs one read-only query over every file of the trail — the sealed segments and the active
 * database — and merges the rows in chain order, keeping the most recent `limit` (all when undefined).
 *
 * Files are read one at a time, newest first, each on its own connection, and reading stops as soon
 * as the newest files gave `limit` rows: the common question ("the latest 100 of …") usually touches
 * the active file only. Chosen over ATTACH-ing every segment into one connection (SQLite attaches at
 * most 10 databases by default, and a UNION over all of them defeats the per-file indexes), at one
 * cost: a view row that pairs two events (the `calls` view's decision and outcome) is only paired
 * within one file; `pairAcrossSegments` completes calls whose outcome was written after a rotation.
 */
export function readAcross<R extends { readonly seq: number }>(
  activeFile: string,
  limit: number | undefined,
  query: (db: Database.Database) => R[],
): R[] {
  const rows: R[] = [];
  for (const file of chainFiles(activeFile).reverse()) {
    const db = openAuditReader(file);
    try {
      rows.push(...query(db));
    } finally {
      db.close();
    }
    if (limit !== undefined && rows.length >= limit) break;
  }
  rows.sort((a, b) => a.seq - b.seq);
  return limit === undefined ? rows : rows.slice(-limit);
}

/**
 * Completes `calls` rows whose decision was sealed into a segment just before their outcome was
 * written: the `calls` view pairs within one file, so such a call shows no outcome there. Its outcome
 * is looked up in the later files as the view pairs it (`outcomeOf`), through each file's
 * correlation-id index. A call whose
 * decision is in the active file has no later file: its missing outcome was never written.
 */
export function pairAcrossSegments(activeFile: string, calls: CallRow[]): CallRow[] {
  const sealed = listSegments(activeFile);
  const unpaired = calls.filter(
    (c) => c.decision === 'allow' && c.outcome_seq === null && sealed.some((s) => c.seq <= s.lastSeq),
  );
  if (unpaired.length === 0) return calls;
  const completed = new Map<number, CallRow>();
  const later = [...sealed.map((s) => ({ file: s.file, lastSeq: s.lastSeq })), { file: activeFile, lastSeq: Infinity }];
  for (const { file, lastSeq } of later) {
    const waiting = unpaired.filter((c) => !completed.has(c.seq) && c.seq < lastSeq);
    if (waiting.length === 0) continue;
    const db = openAuditReader(file);
    try {
      const firstOutcome = overEventTables(
        db,
        (
          table,
        ) => `SELECT o.seq, o.time, o.status, o.reason, o.duration_ms, o.bytes_in, o.bytes_out FROM d, ${table} AS o
         WHERE ${outcomeOf('o', 'd')} ORDER BY o.seq LIMIT 1`,
        'ORDER BY seq LIMIT 1',
      );
      const outcome = db.prepare<[string, string, string, number], OutcomeRow>(
        `WITH d (correlation_id, method, path, seq) AS (VALUES (?, ?, ?, ?)) ${firstOutcome}`,
      );
      for (const call of waiting) {
        const o = outcome.get(call.correlation_id, call.method, call.path, call.seq);
        if (o === undefined) continue;
        completed.set(call.seq, {
          ...call,
          finished: o.time,
          status: o.status,
          reason: o.reason,
          duration_ms: o.duration_ms,
          bytes_in: o.bytes_in,
          bytes_out: o.bytes_out,
          outcome_seq: o.seq,
        });
      }
    } finally {
      db.close();
    }
  }
  return calls.map((c) => completed.get(c.seq) ?? c);
}

interface OutcomeRow {
  readonly seq: number;
  readonly time: string;
  readonly status: number | null;
  readonly reason: string | null;
  readonly duration_ms: number | null;
  readonly bytes_in: number | null;
  readonly bytes_out: number | null;
}
