/**
 * `node scripts/bench-audit-insert.ts [--prefill N] [--events N]` — what each index on `events` costs
 * the gateway's audit writer per event.
 *
 * For each index set: a copy of one prefilled database (default 1 million synthetic events, see
 * scripts/bench/audit-events.ts) with exactly those indexes, then `--events` more appended through the
 * real `AuditStore.appendBatch` in batches of 16 (what group commit hands the store under load), moved
 * into the indexed table every 40 commits as the writer thread does (recent-events.ts), at
 * `synchronous = NORMAL`, so the figure is the CPU and page-cache cost of the rows and their index
 * entries, not fsync latency. Reports µs per event (hashing, the row, every index entry) as CPU time
 * of this process, which other load on the machine disturbs far less than wall time, and wall time.
 */
import { copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { AuditEvent } from '../gateway/pipeline/6-audit/event.ts';
import { schemaSql } from '../gateway/pipeline/6-audit/schema.ts';
import { AuditStore } from '../gateway/pipeline/6-audit/store.ts';
import { bulkLoad, syntheticEvents } from './bench/audit-events.ts';

const { values } = parseArgs({
  options: { prefill: { type: 'string', default: '1000000' }, events: { type: 'string', default: '100000' } },
});
const prefill = Number(values.prefill);
const appended = Number(values.events);
const dir = tmpdir();
const base = join(dir, `mandate-bench-insert-${prefill}.db`);

/** The index set before this change, and the proposed one (schema.ts). */
const previous = {
  events_user: '(user)',
  events_agent: '(agent)',
  events_action: '(action)',
  events_resource: '(resource_id, resource_type)',
  events_txn: '(txn)',
  events_correlation_id: '(correlation_id)',
  events_time: '(time)',
};
const proposed = Object.fromEntries(
  [...schemaSql.matchAll(/CREATE INDEX IF NOT EXISTS (\w+) ON events (\([^)]*\))/g)].map((m) => [m[1]!, m[2]!]),
);
const variants: [string, Record<string, string>][] = [
  ['no secondary index', {}],
  ['previous (7 indexes)', previous],
  ['proposed (schema.ts)', proposed],
  ...Object.keys(previous).map((name): [string, Record<string, string>] => [
    `previous without ${name}`,
    Object.fromEntries(Object.entries(previous).filter(([n]) => n !== name)),
  ]),
];

// One generator run: the prefill, then the events to append, so appended rows continue its traffic.
const events = syntheticEvents(prefill + appended, 7);
const remove = (path: string) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
};
remove(base);
bulkLoad(base, take(events, prefill), { rebuildIndexes: false });
const toAppend = [...take(events, appended)];

console.log(`prefill ${prefill} events; ${appended} appended per index set, batches of 16, synchronous=NORMAL\n`);
console.log('| index set | CPU µs per event | wall µs per event |\n|---|---:|---:|');
for (const [name, indexes] of variants) {
  const file = join(dir, 'mandate-bench-insert-run.db');
  remove(file);
  copyFileSync(base, file);
  // The store creates the schema's indexes on open; the variant's set replaces them afterwards (the
  // store's prepared INSERT is re-prepared by SQLite when the schema changes).
  const store = AuditStore.open(file, { durability: 'normal' });
  const admin = new Database(file);
  for (const { name: index } of admin
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL")
    .all() as { name: string }[])
    admin.exec(`DROP INDEX ${index}`);
  for (const [index, columns] of Object.entries(indexes)) admin.exec(`CREATE INDEX ${index} ON events ${columns}`);
  admin.close();
  const startMs = performance.now();
  const startCpu = process.cpuUsage();
  // The index entries are written when the writer moves recent events into `events` (every 100 ms,
  // recent-events.ts): here every 40 commits, inside the timing.
  for (let i = 0, commits = 0; i < toAppend.length; i += 16) {
    store.appendBatch(toAppend.slice(i, i + 16));
    if (++commits % 40 === 0) store.foldAll(256);
  }
  store.foldAll(256);
  const cpu = process.cpuUsage(startCpu);
  const wallPerEvent = ((performance.now() - startMs) * 1000) / toAppend.length;
  const cpuPerEvent = (cpu.user + cpu.system) / toAppend.length;
  store.close();
  console.log(`| ${name} | ${cpuPerEvent.toFixed(1)} | ${wallPerEvent.toFixed(1)} |`);
}

remove(base);
remove(join(dir, 'mandate-bench-insert-run.db'));

function* take(source: Iterator<AuditEvent>, n: number): Generator<AuditEvent> {
  for (let i = 0; i < n; i++) {
    const next = source.next();
    if (next.done) return;
    yield next.value;
  }
}
