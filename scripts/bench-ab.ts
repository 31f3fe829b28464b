/**
 * `npm run bench:ab -- <checkout> [full|normal]` — this checkout's Mandate against another's (a branch,
 * a stash applied elsewhere, an experiment), side by side in one interleaved run of `npm run bench`'s
 * load, with the bare proxy for reference: on this machine, whose speed drifts by tens of percent,
 * the only way to tell a change of a few percent from the drift. The other checkout must be set up
 * (its node_modules and its policy bundle in .build/policy: `npm test` there does both).
 * BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS and BENCH_TRAFFIC change the load, as for the bench.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { measureLevels, printThroughput, ROOT, startBench, stopAll } from './bench/harness.ts';

const [other, durability = 'full'] = process.argv.slice(2);
if (!other || (durability !== 'full' && durability !== 'normal')) {
  console.error('usage: npm run bench:ab -- <other checkout> [full|normal]');
  process.exit(2);
}
const checkout = resolve(other);
for (const needed of ['gateway/main.ts', 'node_modules', '.build/policy/policy.wasm']) {
  if (!existsSync(join(checkout, needed))) {
    console.error(`${checkout} has no ${needed}: set that checkout up first (npm test there)`);
    process.exit(2);
  }
}

try {
  const { bare, startMandate } = await startBench();
  const label = durability.toUpperCase();
  const mine = await startMandate(`mandate, this checkout (${label})`, durability, ROOT);
  const theirs = await startMandate(`mandate, ${checkout} (${label})`, durability, checkout);
  printThroughput(await measureLevels([bare, mine, theirs], mine.name), mine.name);
} finally {
  await stopAll();
}
