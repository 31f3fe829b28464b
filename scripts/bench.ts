/**
 * `npm run bench` — one run, on loopback, the same request each time: the backend direct, a bare
 * undici pass-through proxy, and Mandate's full pipeline (verified and cached delegation token, route
 * resolution, Wasm policy, credential swap, two audit events in SQLite) at both audit durabilities:
 * FULL (the default: fsync per group commit) and NORMAL. Prints req/s, p50, p99, the ratio to the
 * bare proxy, and each server's CPU time per request.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { exportJWK, generateKeyPair } from 'jose';
import { parse, stringify } from 'yaml';
import { mintDelegationToken } from '../gateway/dev/mint.ts';
import { benchTokenExchange, tokenExchangeTable } from './bench/token-exchange.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const children: ChildProcess[] = [];

/** CPU time (user + system, all threads) a process has used so far, in µs; Linux /proc only. */
function cpuMicros(pid: number | undefined): number {
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

/** Starts a process and waits for the first stdout JSON line that carries a port. */
function start(args: string[]): Promise<{ port: number; pid: number | undefined }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
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

/** Load on `url`; also what the serving process spent in CPU per request (its own threads only). */
async function measure(name: string, url: string, headers: Record<string, string>, pid: number | undefined) {
  await autocannon({ url, headers, connections: CONNECTIONS, duration: 2 }); // warm-up
  const cpuBefore = cpuMicros(pid);
  const threadsBefore = threadCpuMicros(pid);
  const r = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION });
  const cpuPerRequest = (cpuMicros(pid) - cpuBefore) / r.requests.total;
  const threadsAfter = threadCpuMicros(pid);
  const perRequest = (k: keyof typeof threadsAfter) =>
    Math.round((threadsAfter[k] - threadsBefore[k]) / r.requests.total);
  const split = `${perRequest('main')} / ${perRequest('workers')} / ${perRequest('v8')}`;
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx responses, ${r.errors} errors`);
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuPerRequest, split };
}

try {
  const secret = randomBytes(24).toString('base64url');
  const backend = await start(['scripts/bench/backend.ts', secret]);
  const backendUrl = `http://127.0.0.1:${backend.port}`;
  const bare = await start(['scripts/bench/bare-proxy.ts', backendUrl, secret]);

  // Mandate on the repository's routes.yaml, pointed at the benchmark backend.
  const dir = mkdtempSync(join(tmpdir(), 'mandate-bench-'));
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
  config.gateway.policy_bundle = join(ROOT, '.build/policy');
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
  /** A Mandate on its own audit database, at the given audit durability. */
  const startMandate = (durability: 'full' | 'normal') => {
    config.gateway.audit_db = join(dir, `audit-${durability}.db`);
    config.gateway.audit_durability = durability;
    const file = join(dir, `routes-${durability}.yaml`);
    writeFileSync(file, stringify(config));
    return start([...nodeOptions, 'gateway/main.ts', 'serve', '--config', file, '--port', '0']);
  };
  const mandate = await startMandate('full');
  const mandateNormal = await startMandate('normal');

  const token = await mintDelegationToken(
    { kid, privateKey },
    {
      issuer: 'https://bench.mandate',
      user: 'alice',
      agents: ['hr-agent'],
      audience: config.backends[0].audience,
      scope: 'procurement:read',
      txn: 'bench-task',
      extra: { roles: ['procurement'] },
      ttlSeconds: 3600,
    },
  );

  const results = [
    await measure(
      'backend direct',
      `${backendUrl}/contracts/12345`,
      { authorization: `Bearer ${secret}` },
      backend.pid,
    ),
    await measure('bare undici proxy', `http://127.0.0.1:${bare.port}/contracts/12345`, {}, bare.pid),
    await measure(
      'mandate (full pipeline, audit FULL: fsync per group commit)',
      `http://127.0.0.1:${mandate.port}/procurement/contracts/12345`,
      { authorization: `Bearer ${token}` },
      mandate.pid,
    ),
    await measure(
      'mandate (full pipeline, audit NORMAL)',
      `http://127.0.0.1:${mandateNormal.port}/procurement/contracts/12345`,
      { authorization: `Bearer ${token}` },
      mandateNormal.pid,
    ),
  ];
  const bareRps = results[1]!.rps;
  console.log(
    `\n${new Date().toISOString().slice(0, 10)} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · Node ${process.version} · ${CONNECTIONS} connections · ${DURATION}s each\n`,
  );
  console.log(
    '| target | req/s | p50 ms | p99 ms | vs bare proxy | server CPU µs/req | of which main / workers / V8 helpers |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${((r.rps / bareRps) * 100).toFixed(0)}% | ${Math.round(r.cpuPerRequest)} | ${r.split} |`,
    );
  }

  // The token endpoint (issue #3): exchanges per second, on its own Mandate (scripts/bench/token-exchange.ts).
  console.log(
    tokenExchangeTable(await benchTokenExchange({ start, cpuMicros, connections: CONNECTIONS, seconds: DURATION })),
  );
} finally {
  await Promise.all(
    children.map((c) => {
      const exited = new Promise((done) => c.once('exit', done));
      c.kill('SIGTERM');
      return exited;
    }),
  );
}
