import type Database from 'better-sqlite3';

/**
 * The newest events, before they are indexed. An append writes its rows to `recent_events`, a table
 * with no index, and the writer thread moves them into `events` within FOLD_EVERY_MS
 * (`AuditStore.foldRecent`, writer-thread.ts): many commits' rows in one transaction.
 *
 * Why: every commit used to write a page or two of each of `events`' seven indexes to the WAL (each
 * index appended at its end, none quick-balanced the way a rowid table is): ≈ 19 pages, 78 KB, for
 * 10 events, all of it copied and, at FULL, fsynced. A commit to the unindexed table writes a few,
 * and an index page now takes a fold's hundreds of entries instead of one commit's ten.
 *
 * What it means for readers: `events` holds every event except the newest, which are in
 * `recent_events` (same columns) until the next fold; the view `all_events` is both, and `calls`
 * pairs across both. Rows move in seq order, a prefix at a time, so every seq in `events` is below
 * every seq in `recent_events`, and a reader polling `events` by seq never skips a row. The move is
 * one transaction: no reader sees a row in both tables or in neither. A stopped gateway's file has
 * nothing in `recent_events` (the store folds on close), nor has a sealed segment.
 */
export const RECENT_EVENTS = 'recent_events';

/** Both tables in chain order, or `events` alone for a file written before `recent_events` existed. */
export function eventTables(db: Database.Database): readonly string[] {
  const recent = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(RECENT_EVENTS);
  return recent ? ['events', RECENT_EVENTS] : ['events'];
}

/**
 * One SQL statement over every event table: `arm(table)` for each, joined by UNION ALL (each arm a
 * subquery, so it may have its own ORDER BY and LIMIT), then `tail` (e.g. `ORDER BY seq`). One
 * statement reads one snapshot, so a fold between two reads can neither hide a row nor show it twice.
 * SQLite runs each arm with its table's own indexes and rowid order, and merges ordered arms.
 */
export function overEventTables(db: Database.Database, arm: (table: string) => string, tail = ''): string {
  return unionOf(eventTables(db), arm, tail);
}

/** `arm(source)` for each source, each as a subquery, joined by UNION ALL, then `tail`. */
export function unionOf(sources: readonly string[], arm: (source: string) => string, tail = ''): string {
  return `${sources.map((source) => `SELECT * FROM (${arm(source)})`).join(' UNION ALL ')} ${tail}`;
}
