/**
 * `npm run bench` — one run, on loopback, the same request each time: the backend direct, a bare
 * undici pass-through proxy, and Mandate's full pipeline (verified and cached delegation token, route
 * resolution, Wasm policy, credential swap, two audit events in SQLite) at both audit durabilities:
 * FULL (the default: fsync per group commit) and NORMAL, in interleaved rounds. Prints req/s, p50,
 * p99, the ratio to the bare proxy, each server's CPU time per request and how busy the machine was,
 * at 32, 64 and 128 connections, then each target's throughput (its best level) against the bare
 * proxy's. BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS and BENCH_WARMUP_SECONDS change the load;
 * BENCH_TRAFFIC=varied spreads Mandate's calls over 1,000 users with the caller's own random trace ids
 * (scripts/bench/harness.ts).
 */
import { cpuMicros, load, measureLevels, printThroughput, start, startBench, stopAll } from './bench/harness.ts';
import { benchTokenExchange, tokenExchangeTable } from './bench/token-exchange.ts';

try {
  const { backend, bare, startMandate } = await startBench();
  const full = await startMandate('mandate (full pipeline, audit FULL: fsync per group commit)', 'full');
  const normal = await startMandate('mandate (full pipeline, audit NORMAL)', 'normal');
  printThroughput(await measureLevels([backend, bare, full, normal], bare.name), bare.name);

  // The token endpoint (issue #3): exchanges per second, on its own Mandate (scripts/bench/token-exchange.ts).
  // BENCH_TOKEN_EXCHANGE=0 leaves it out, for quicker runs while working on the proxy's hot path.
  if (process.env.BENCH_TOKEN_EXCHANGE !== '0')
    console.log(
      tokenExchangeTable(
        await benchTokenExchange({ start, cpuMicros, connections: load.connectionLevels[0]!, seconds: load.seconds }),
      ),
    );
} finally {
  await stopAll();
}
