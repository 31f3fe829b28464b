/**
 * The benchmark's moving parts, shared by `npm run bench` (scripts/bench.ts) and the A/B comparison of
 * two checkouts (scripts/bench-ab.ts): the processes (backend, bare proxy, Mandates), the delegation
 * token, interleaved load with autocannon, and the CPU accounting from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { exportJWK, generateKeyPair } from 'jose';
import { parse, stringify } from 'yaml';
import { mintDelegationToken } from '../../gateway/dev/mint.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];

/**
 * The load settings, from BENCH_SECONDS (10 per target and level), BENCH_ROUNDS (5), BENCH_CONNECTIONS
 * (32,64,128), BENCH_WARMUP_SECONDS (10 per target) and BENCH_TRAFFIC (same).
 *
 * Several levels because a closed-loop generator at one level measures throughput only where every
 * target is saturated there. The bare proxy is at 32 connections (its req/s hardly moves above), but
 * Mandate holds each call until its decision is committed, ≈ 3 ms, so at 32 it is bound by that
 * latency with nearly a quarter of the machine idle, and its req/s still rises to 64 and 128. Each
 * target's throughput is its best level's; the ratio at each level is printed too.
 */
export const load = {
  seconds: Number(process.env.BENCH_SECONDS ?? 10),
  rounds: Number(process.env.BENCH_ROUNDS ?? 5),
  connectionLevels: (process.env.BENCH_CONNECTIONS ?? '32,64,128').split(',').map(Number),
  warmUpSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 10),
  traffic: process.env.BENCH_TRAFFIC === 'varied' ? ('varied' as const) : ('same' as const),
};
if (load.connectionLevels.some((c) => !Number.isInteger(c) || c < 1))
  throw new Error('BENCH_CONNECTIONS: a comma-separated list of connection counts, e.g. 32,64,128');

/** CPU time (user + system, all threads) a process has used so far, in µs; Linux /proc only. */
export function cpuMicros(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}
const TICKS_PER_SECOND = 100;

/**
 * The same, split by thread, so a change on the hot path shows where it landed: Node's main thread
 * (the event loop: the pipeline itself), worker threads (Mandate's audit writer) and V8's helper
 * threads (mostly concurrent and parallel GC). Threads are told apart by the name Node gives them.
 */
function threadCpuMicros(pid: number | undefined): Record<'main' | 'workers' | 'v8', number> {
  const out = { main: 0, workers: 0, v8: 0 };
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const micros = ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
      if (name === 'MainThread' || name === 'node') out.main += micros;
      else if (name === 'WorkerThread') out.workers += micros;
      else out.v8 += micros; // V8Worker, libuv-worker and the like
    }
  } catch {}
  return out;
}

/**
 * The whole machine's CPU (all processes, all cores): busy and total jiffies so far. Idle time in a
 * run means the load generator, backend and server were waiting on each other, not on the CPU.
 */
function machineJiffies(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = fields.map(Number);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal; guest time is inside user
  return { busy: total - n[3]! - n[4]!, total }; // minus idle and iowait
}

/**
 * Starts a Node process (this checkout's Node) in `cwd` and waits for the first stdout JSON line that
 * carries a port. `stopAll` stops every process started.
 */
export function start(args: string[], cwd = ROOT): Promise<{ port: number; pid: number | undefined }> {
  const child = spawn(process.execPath, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MANDATE_LOG_LEVEL: 'info' },
  });
  children.push(child);
  return new Promise((done, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const port = (JSON.parse(line) as { port?: number }).port;
        if (port) done({ port, pid: child.pid });
      } catch {}
    });
    child.once('exit', (code) => fail(new Error(`${args.join(' ')} exited ${code}`)));
  });
}

/** Stops every process `start` started, waits for them to exit, and removes every `benchDir`. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    children.map((c) => {
      const exited = new Promise((done) => c.once('exit', done));
      c.kill('SIGTERM');
      return exited;
    }),
  );
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const dirs: string[] = [];

/**
 * A new folder for a run's configuration, keys and audit databases (hundreds of MB after a full
 * run), removed by `stopAll`.
 */
export function benchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export interface Target {
  readonly name: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** Headers that change on every request (BENCH_TRAFFIC=varied), added to `headers`. */
  readonly vary?: () => Record<string, string>;
  readonly pid: number | undefined;
}

/** One autocannon run against `t`: its headers, and on every request `vary`'s when it has one. */
function run(t: Target, connections: number, duration: number) {
  const { vary } = t;
  if (vary === undefined) return autocannon({ url: t.url, headers: t.headers, connections, duration });
  const setupRequest = (request: { headers?: Record<string, string> }) => ({
    ...request,
    headers: { ...request.headers, ...t.headers, ...vary() },
  });
  return autocannon({ url: t.url, connections, duration, requests: [{ setupRequest }] } as autocannon.Options);
}

interface Totals {
  requests: number;
  seconds: number;
  cpu: number;
  threads: Record<'main' | 'workers' | 'v8', number>;
  busy: number;
  jiffies: number;
  p50: number[];
  p99: number[];
}

/**
 * Load on every target at every connection level in turn, `rounds` times over, `seconds` each in all:
 * this machine's speed drifts by tens of percent over a minute (other tenants), so interleaving makes
 * the drift hit every target and level alike instead of deciding the ratio. Each target is warmed up
 * first (`warmUpSeconds`: V8 keeps compiling a gateway's hot paths for tens of seconds of load, and a
 * production gateway is warm). Reports, per level and target, req/s over all rounds, the median of the
 * rounds' p50 and p99, and what the serving process spent in CPU per request (its own threads only).
 */
export async function measureInterleaved(
  targets: readonly Target[],
  { seconds, rounds, connectionLevels, warmUpSeconds }: typeof load,
) {
  const totals = new Map<string, Totals>();
  const cell = (t: Target, connections: number) => `${connections} ${t.name}`;
  for (const t of targets) {
    await run(t, Math.max(...connectionLevels), warmUpSeconds);
    for (const connections of connectionLevels) {
      totals.set(cell(t, connections), {
        requests: 0,
        seconds: 0,
        cpu: 0,
        threads: { main: 0, workers: 0, v8: 0 },
        busy: 0,
        jiffies: 0,
        p50: [],
        p99: [],
      });
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const connections of connectionLevels) {
      for (const t of targets) {
        const sum = totals.get(cell(t, connections))!;
        const cpuBefore = cpuMicros(t.pid);
        const threadsBefore = threadCpuMicros(t.pid);
        const machineBefore = machineJiffies();
        const r = await run(t, connections, seconds / rounds);
        if (r.non2xx > 0 || r.errors > 0)
          throw new Error(`${t.name}: ${r.non2xx} non-2xx responses, ${r.errors} errors`);
        const machineAfter = machineJiffies();
        const threadsAfter = threadCpuMicros(t.pid);
        sum.requests += r.requests.total;
        sum.seconds += r.duration;
        sum.cpu += cpuMicros(t.pid) - cpuBefore;
        for (const k of ['main', 'workers', 'v8'] as const) sum.threads[k] += threadsAfter[k] - threadsBefore[k];
        sum.busy += machineAfter.busy - machineBefore.busy;
        sum.jiffies += machineAfter.total - machineBefore.total;
        sum.p50.push(r.latency.p50);
        sum.p99.push(r.latency.p99);
      }
    }
  }
  return connectionLevels.map((connections) => ({
    connections,
    results: targets.map((t) => {
      const sum = totals.get(cell(t, connections))!;
      const perRequest = (k: keyof Totals['threads']) => Math.round(sum.threads[k] / sum.requests);
      return {
        name: t.name,
        rps: sum.requests / sum.seconds,
        p50: median(sum.p50),
        p99: median(sum.p99),
        cpuPerRequest: sum.cpu / sum.requests,
        split: `${perRequest('main')} / ${perRequest('workers')} / ${perRequest('v8')}`,
        machineBusy: sum.busy / sum.jiffies,
      };
    }),
  }));
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** What a benchmark run loads: the backend direct, the bare proxy, and Mandates on demand. */
export interface BenchSetup {
  /** The backend, called with its own service credential. */
  readonly backend: Target;
  readonly bare: Target;
  /**
   * Starts a Mandate on the repository's routes.yaml, pointed at the benchmark backend, with its own
   * audit database, from `checkout` (default this one; another must have its policy bundle built),
   * and returns it as a target for the benchmark route (`GET /procurement/contracts/12345`).
   */
  startMandate(name: string, durability: 'full' | 'normal', checkout?: string): Promise<Target>;
}

/** Starts the backend and the bare proxy, and prepares the configuration and token Mandates use. */
export async function startBench(): Promise<BenchSetup> {
  const secret = randomBytes(24).toString('base64url');
  const backend = await start(['scripts/bench/backend.ts', secret]);
  const backendUrl = `http://127.0.0.1:${backend.port}`;
  const bare = await start(['scripts/bench/bare-proxy.ts', backendUrl, secret]);

  // Mandate on the repository's routes.yaml, pointed at the benchmark backend.
  const dir = benchDir('mandate-bench-');
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = 'bench';
  writeFileSync(
    join(dir, 'jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256' }] }),
  );
  writeFileSync(join(dir, 'procurement.token'), secret);
  const config = parse(readFileSync(join(ROOT, 'routes.yaml'), 'utf8'));
  delete config.dev;
  // The token service's demo sections point at ./data files the benchmark does not create.
  delete config.token_service;
  delete config.identity_providers;
  delete config.agents;
  // Behavioural limits stay on, so every call is counted as in production, with maxima no run reaches.
  config.limits.task.requests = 1e9;
  config.limits.agent.requests = 1e9;
  config.limits.user.requests = 1e9;
  config.issuers = [
    {
      issuer: 'https://bench.mandate',
      jwks: { file: join(dir, 'jwks.json') },
      algorithms: ['ES256'],
      user_claims: ['roles'],
    },
  ];
  config.backends = config.backends.filter((b: { name: string }) => b.name === 'procurement');
  config.routes = config.routes.filter((r: { backend: string }) => r.backend === 'procurement');
  config.backends[0].url = backendUrl;
  config.backends[0].credential.secret = `file:${join(dir, 'procurement.token')}`;
  // BENCH_MANDATE_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the gateway alone.
  const nodeOptions = process.env.BENCH_MANDATE_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];
  const tokenClaims = {
    issuer: 'https://bench.mandate',
    user: 'alice',
    agents: ['hr-agent'],
    audience: config.backends[0].audience,
    scope: 'procurement:read',
    txn: 'bench-task',
    extra: { roles: ['procurement'] },
    ttlSeconds: 3600,
  };
  const token = await mintDelegationToken({ kid, privateKey }, tokenClaims);

  // Per-request headers under `load.traffic`: none for `same` (every call alice's, without a
  // `traceparent`); for `varied`, one of 1,000 users' tokens and a caller's random trace id, so the
  // audit trail's user and correlation-id index entries land on random pages, as they do with many
  // users behind agents that send their own `traceparent`. The other targets get the trace id only.
  let varyMandate: Target['vary'];
  let varyOthers: Target['vary'];
  if (load.traffic === 'varied') {
    const tokens: string[] = [];
    for (let i = 0; i < 1000; i++) {
      tokens.push(
        await mintDelegationToken(
          { kid, privateKey },
          { ...tokenClaims, user: `user-${String(i).padStart(4, '0')}`, txn: `bench-task-${i}` },
        ),
      );
    }
    const traceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    varyOthers = () => ({ traceparent: traceparent() });
    varyMandate = () => ({
      authorization: `Bearer ${tokens[Math.floor(Math.random() * tokens.length)]}`,
      traceparent: traceparent(),
    });
  }

  let started = 0;
  const startMandate = async (name: string, durability: 'full' | 'normal', checkout = ROOT): Promise<Target> => {
    const files = `${++started}-${durability}`;
    config.gateway.audit_db = join(dir, `audit-${files}.db`);
    config.gateway.audit_durability = durability;
    config.gateway.policy_bundle = join(checkout, '.build/policy');
    const file = join(dir, `routes-${files}.yaml`);
    writeFileSync(file, stringify(config));
    const { port, pid } = await start(
      [...nodeOptions, join(checkout, 'gateway/main.ts'), 'serve', '--config', file, '--port', '0'],
      checkout,
    );
    const url = `http://127.0.0.1:${port}/procurement/contracts/12345`;
    return { name, url, headers: { authorization: `Bearer ${token}` }, vary: varyMandate, pid };
  };

  return {
    backend: {
      name: 'backend direct',
      url: `${backendUrl}/contracts/12345`,
      headers: { authorization: `Bearer ${secret}` },
      vary: varyOthers,
      pid: backend.pid,
    },
    bare: {
      name: 'bare undici proxy',
      url: `http://127.0.0.1:${bare.port}/contracts/12345`,
      headers: {},
      vary: varyOthers,
      pid: bare.pid,
    },
    startMandate,
  };
}

type Levels = Awaited<ReturnType<typeof measureInterleaved>>;
type Results = Levels[number]['results'];

/** Measures `targets` at every level of `load.connectionLevels`, interleaved, and prints each level's table. */
export async function measureLevels(targets: readonly Target[], baseline: string): Promise<Levels> {
  const levels = await measureInterleaved(targets, load);
  for (const { connections, results } of levels) printTable(results, baseline, connections);
  return levels;
}

/**
 * Prints each target's throughput — its best req/s over the levels, and at which — against
 * `baseline`'s: the figure the README's ratio is.
 */
export function printThroughput(levels: Levels, baseline: string): void {
  const best = (name: string) =>
    levels
      .map(({ connections, results }) => ({ connections, ...results.find((r) => r.name === name)! }))
      .reduce((a, b) => (b.rps > a.rps ? b : a));
  const base = best(baseline);
  console.log(`\nThroughput: each target's best level of ${load.connectionLevels.join(', ')} connections\n`);
  console.log(`| target | req/s | at connections | p50 ms | p99 ms | vs ${baseline} |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const { name } of levels[0]!.results) {
    const r = best(name);
    console.log(
      `| ${name} | ${Math.round(r.rps)} | ${r.connections} | ${r.p50} | ${r.p99} | ${((r.rps / base.rps) * 100).toFixed(0)}% |`,
    );
  }
}

/** Prints the run's line (date, machine, load) and a Markdown table of `results`, ratios against `baseline`. */
export function printTable(results: Results, baseline: string, connections: number): void {
  const baseRps = results.find((r) => r.name === baseline)!.rps;
  console.log(
    `\n${new Date().toISOString().slice(0, 10)} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · Node ${process.version} · ${connections} connections · ${load.seconds}s each, in ${load.rounds} interleaved rounds · ${load.traffic === 'varied' ? '1,000 users, random trace ids' : 'one user, no traceparent'}\n`,
  );
  console.log(
    `| target | req/s | p50 ms | p99 ms | vs ${baseline} | server CPU µs/req | of which main / workers / V8 helpers | machine busy |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${((r.rps / baseRps) * 100).toFixed(0)}% | ${Math.round(r.cpuPerRequest)} | ${r.split} | ${(r.machineBusy * 100).toFixed(0)}% |`,
    );
  }
}
