/**
 * `node scripts/bench-audit-queries.ts [--events N] [--db FILE] [--reuse]` — how fast the auditors'
 * questions are answered on a large audit trail (default 10 million events, one year of traffic).
 *
 * Generates the events (scripts/bench/audit-events.ts) into a fresh audit database through the store,
 * with the current schema (table, indexes, views), checks the chain with `mandate audit verify`, then
 * times each named question and each search of the auditor page: median of 5 runs after one warm-up,
 * the database in the OS page cache, with RECENT_TAIL more events appended and not yet folded, as in a
 * running gateway (recent-events.ts), so every question also reads `recent_events`. `--reuse` keeps an existing file of the right size and only
 * brings its indexes and views in line with schema.ts (so index sets can be compared on one data set).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openAuditReader, searchCalls, searchEvents } from '../gateway/pipeline/6-audit/query.ts';
import { schemaSql } from '../gateway/pipeline/6-audit/schema.ts';
import { AuditStore } from '../gateway/pipeline/6-audit/store.ts';
import { agentName, bulkLoad, syntheticEvents, userName } from './bench/audit-events.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    db: { type: 'string' },
    reuse: { type: 'boolean', default: false },
  },
});
const count = Number(values.events);
const file = values.db ?? join(tmpdir(), `mandate-bench-audit-${count}.db`);
const seconds = (fromMs: number) => ((performance.now() - fromMs) / 1000).toFixed(1);
// What a running gateway has appended and not folded yet: ≈ 0.1 s of events at a few thousand a second.
const RECENT_TAIL = 1000;

// A reused file has gained each earlier run's tail (folded when that run closed its store).
if (!(values.reuse && existsSync(file) && storedCount(file) >= count)) generate();
else syncIndexes();
const verifyMs = performance.now();
const verified = spawnSync(process.execPath, [join(ROOT, 'gateway/main.ts'), 'audit', 'verify', '--db', file], {
  encoding: 'utf8',
});
console.log(`verify: ${(verified.stdout || verified.stderr).trim()} (${seconds(verifyMs)} s)`);
if (verified.status !== 0) process.exit(1);
const tail = AuditStore.open(file, { durability: 'normal' });
tail.appendBatch([...syntheticEvents(RECENT_TAIL, 2)]);
timeQuestions();
tail.close();

function storedCount(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT max(seq) AS n FROM events').get() as { n: number | null }).n ?? 0;
  } finally {
    db.close();
  }
}

/** Rows in bulk through the store, then the schema's indexes. */
function generate(): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  const { loadMs, indexMs } = bulkLoad(file, syntheticEvents(count), { rebuildIndexes: true });
  console.log(
    `generated ${count} events in ${(loadMs / 1000).toFixed(1)} s, indexed them in ${(indexMs / 1000).toFixed(1)} s`,
  );
  console.log(`${file}: ${(statSync(file).size / 1e9).toFixed(2)} GB`);
}

/** Replaces the file's indexes with schema.ts's (rebuilding only what changed) and recreates the views. */
function syncIndexes(): void {
  const db = new Database(file);
  const wanted = new Set([...schemaSql.matchAll(/CREATE INDEX IF NOT EXISTS (\w+)/g)].map((m) => m[1]));
  const present = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL")
    .all() as { name: string }[];
  for (const { name } of present) if (!wanted.has(name)) db.exec(`DROP INDEX ${name}`);
  const startMs = performance.now();
  db.exec(schemaSql);
  console.log(`indexes in line with schema.ts in ${seconds(startMs)} s`);
  db.close();
}

function timeQuestions(): void {
  const db = openAuditReader(file);
  const at = (seq: number) =>
    db.prepare('SELECT txn, correlation_id, user, agent, time FROM events WHERE seq = ?').get(seq) as {
      txn: string;
      correlation_id: string;
      user: string;
      agent: string;
      time: string;
    };
  const middle = at(Math.floor(count / 2));
  const day = { since: new Date('2026-03-14T00:00:00Z'), until: new Date('2026-03-15T00:00:00Z') };
  const week = { since: new Date('2026-03-09T00:00:00Z'), until: new Date('2026-03-16T00:00:00Z') };
  const heavyUser = userName(0);
  const heavyAgent = agentName(0);
  const cases: [string, () => unknown[]][] = [
    [
      'resource-access, hot resource, one day',
      () => searchCalls(db, { resource: 'crm_customer:10000', ...day, limit: 1000 }),
    ],
    ['resource-access, hot resource, all year', () => searchCalls(db, { resource: 'crm_customer:10000', limit: 1000 })],
    [
      'resource-access, typical resource, all year',
      () => searchCalls(db, { resource: 'crm_customer:70000', limit: 1000 }),
    ],
    ['task (txn), full story', () => searchEvents(db, { txn: middle.txn, limit: undefined })],
    ['correlation id', () => searchEvents(db, { correlationId: middle.correlation_id, limit: undefined })],
    [
      'agent-activity, heavy user, one week',
      () => searchEvents(db, { user: heavyUser, agent: heavyAgent, ...week, limit: 1000 }),
    ],
    [
      'agent-activity, heavy user, all year',
      () => searchEvents(db, { user: heavyUser, agent: heavyAgent, limit: 1000 }),
    ],
    [
      'agent-activity, typical user, all year',
      () => searchEvents(db, { user: middle.user, agent: middle.agent, limit: 1000 }),
    ],
    ['search: user, latest 100', () => searchEvents(db, { user: heavyUser, limit: 100 })],
    ['search: agent, latest 100', () => searchEvents(db, { agent: heavyAgent, limit: 100 })],
    ['search: action, latest 100', () => searchEvents(db, { action: 'procurement.contract.pause', limit: 100 })],
    ['search: action, one day', () => searchEvents(db, { action: 'procurement.contract.pause', ...day, limit: 100 })],
    ['search: one day, latest 100', () => searchEvents(db, { ...day, limit: 100 })],
    [
      'search: user + action, one week',
      () => searchEvents(db, { user: heavyUser, action: 'crm.customer.update', ...week, limit: 100 }),
    ],
    [
      'view: refusals of one day (count)',
      () =>
        db
          .prepare('SELECT count(*) FROM refusals WHERE time >= ? AND time < ?')
          .all(day.since.toISOString(), day.until.toISOString()),
    ],
    [
      'view: task_timeline of one txn',
      () => db.prepare('SELECT * FROM task_timeline WHERE txn = ? ORDER BY seq').all(middle.txn),
    ],
  ];
  console.log('\n| question | rows | median ms |\n|---|---:|---:|');
  for (const [name, run] of cases) {
    let rows = run().length;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const startMs = performance.now();
      rows = run().length;
      times.push(performance.now() - startMs);
    }
    times.sort((a, b) => a - b);
    console.log(`| ${name} | ${rows} | ${times[2]!.toFixed(times[2]! < 10 ? 2 : 0)} |`);
  }
  db.close();
}
