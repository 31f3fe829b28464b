/**
 * `node scripts/bench-audit-durability.ts [--events N] [--batches 1,16] [--traffic synthetic|bench]
 * [--move-every COMMITS]` — audit events per second the
 * store commits at `synchronous=FULL` and `NORMAL` (README "Durability"), and the CPU each event costs
 * this process (README "Performance": a commit's fixed cost shared by the events in it).
 *
 * Store only: realistic synthetic events (scripts/bench/audit-events.ts; `--traffic bench`: the calls
 * `npm run bench` makes, one user and one contract, the writer's cheapest case) appended through the real
 * `AuditStore.appendBatch` to a fresh database on the temp folder's disk, with every index, in
 * batches of 1 (one request at a time: one commit, and at FULL one fsync, per event) and of 16 (what
 * group commit hands the store under concurrent load), or the sizes `--batches` lists. Wall time, so
 * fsync latency counts: that is what FULL costs. The recent events are moved into the indexed table
 * every `--move-every` commits (default 40: the gateway's 100 ms at the benchmark's ≈ 400 commits a
 * second; recent-events.ts), inside the timing, as the writer thread does; the WAL is not
 * checkpointed during the run (the gateway does that on a thread of its own), so its growth is the
 * bytes written per event.
 */
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AuditEvent } from '../gateway/pipeline/6-audit/event.ts';
import { type AuditDurability, AuditStore } from '../gateway/pipeline/6-audit/store.ts';
import { benchCallEvents, syntheticEvents } from './bench/audit-events.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    batches: { type: 'string', default: '1,16' },
    traffic: { type: 'string', default: 'synthetic' },
    'move-every': { type: 'string', default: '40' },
  },
});
const count = Number(values.events);
const batches = values.batches.split(',').map(Number);
const moveEvery = Number(values['move-every']);
if (values.traffic !== 'synthetic' && values.traffic !== 'bench') throw new Error('--traffic: synthetic or bench');
const source = values.traffic === 'bench' ? benchCallEvents(count) : syntheticEvents(count, 11);
const events: AuditEvent[] = [];
for (let i = 0; i < count; i++) events.push(source.next().value as AuditEvent);
const file = join(tmpdir(), `mandate-bench-durability-${process.pid}.db`);
const fileBytes = (path: string) => statSync(path, { throwIfNoEntry: false })?.size ?? 0;
const remove = () => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
};

console.log(`${count} ${values.traffic} events per run, fresh database in ${tmpdir()}\n`);
console.log(
  '| durability | batch | events/s | µs per event | CPU µs per event | WAL KB per event |\n|---|---:|---:|---:|---:|---:|',
);
for (const durability of ['full', 'normal'] as AuditDurability[]) {
  for (const batch of batches) {
    remove();
    const store = AuditStore.open(file, { durability, walAutocheckpointPages: 1_000_000 });
    const walBefore = fileBytes(`${file}-wal`);
    const startMs = performance.now();
    const startCpu = process.cpuUsage();
    let commits = 0;
    for (let i = 0; i < events.length; i += batch) {
      store.appendBatch(events.slice(i, i + batch));
      if (++commits % moveEvery === 0) store.foldAll(256);
    }
    store.foldAll(256);
    const cpu = process.cpuUsage(startCpu);
    const ms = performance.now() - startMs;
    const walKb = (fileBytes(`${file}-wal`) - walBefore) / count / 1024;
    store.close();
    console.log(
      `| ${durability} | ${batch} | ${Math.round((count / ms) * 1000)} | ${((ms * 1000) / count).toFixed(1)} | ${((cpu.user + cpu.system) / count).toFixed(1)} | ${walKb.toFixed(1)} |`,
    );
  }
}
remove();
