import type Database from 'better-sqlite3';
import { openAuditReader } from './query.ts';
import { chainFiles } from './segments.ts';

/**
 * Runs one read-only query over every file of the trail — the sealed segments and the active
 * database — and merges the rows in chain order, keeping the most recent `limit` (all when undefined).
 *
 * Files are read one at a time, newest first, each on its own connection, and reading stops as soon
 * as the newest files gave `limit` rows: the common question ("the latest 100 of …") usually touches
 * the active file only. Chosen over ATTACH-ing every segment into one connection (SQLite attaches at
 * most 10 databases by default, and a UNION over all of them defeats the per-file indexes), at one
 * cost: a view row that pairs two events (the `calls` view's decision and outcome) is only paired
 * within one file, so a call whose outcome was written after a rotation shows no outcome.
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
