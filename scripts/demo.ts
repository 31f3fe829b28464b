/**
 * `npm run demo` — the product's story, told through a running gateway: for each step, what the agent
 * sent, what the backend received, and what Mandate answered; then the audit trail of those calls and
 * the verdict on its hash chain. Uses routes.yaml and ./data exactly like `npm start`, and reuses a
 * gateway already listening there (else starts `mandate serve --demo` and stops it at the end).
 *
 * Also a smoke check: exits 0 only if every step had the expected outcome and the chain verifies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { type Config, loadConfig } from '../gateway/config/load.ts';
import type { ReceivedRequest } from '../gateway/demo/server.ts';
import { ensureDevKeys } from '../gateway/dev/dev-keys.ts';
import { type DelegationClaims, mintDelegationToken } from '../gateway/dev/mint.ts';
import { readSecret } from '../gateway/pipeline/4-inject/secret.ts';
import { queryEvents } from '../gateway/pipeline/6-audit/query.ts';
import { verifyChain } from '../gateway/pipeline/6-audit/verify.ts';
import { approvalChapter } from './demo/approval.ts';
import { driftSteps } from './demo/drift.ts';
import { runawayChapter } from './demo/runaway.ts';

const ROOT = resolve(import.meta.dirname, '..');
const WIDTH = 38;
const GAP = ' │ ';
const FORGED_USER = 'mallory';

type Backend = Config['backends'][number];
export type Claims = Omit<DelegationClaims, 'issuer'>;

export interface Step {
  readonly title: string;
  readonly method: string;
  readonly path: string;
  readonly claims: Claims;
  readonly headers?: Record<string, string>;
  /** A JSON request body, sent as application/json. */
  readonly body?: string;
  /** What must have happened; returns the problem in words, or undefined. */
  readonly expect: (seen: Seen) => string | undefined;
}

/** One step as it happened: the gateway's answer and the backend's record of it (if any). */
export interface Seen {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: a problem+json or backend JSON body, read field by field
  readonly body: Record<string, any>;
  readonly correlationId: string;
  readonly received: ReceivedRequest | undefined;
  readonly token: string;
}

const alice: Claims = {
  user: 'alice',
  agents: ['procurement-agent'],
  audience: 'https://procurement.demo.mandate',
  scope: 'procurement:read procurement:write',
  authorizationDetails: [
    { type: 'procurement_contract', actions: ['cancel'], identifier: '12345', vendor: 'X' },
    { type: 'purchase_order', actions: ['create'], vendor: 'X', max_amount: 5000, currency: 'EUR' },
  ],
  txn: `demo-${Date.now()}`,
  intent: 'cancel my contractor agreement with vendor X, and reorder from X for up to 5000 EUR',
  extra: { roles: ['procurement'] },
};
const bob: Claims = {
  user: 'bob',
  agents: ['support-agent'],
  audience: 'https://crm.demo.mandate',
  scope: 'crm:read',
  extra: { roles: ['support'], region: 'emea' },
};

const forwarded = (s: Seen) => (s.received ? undefined : 'the backend did not receive the call');
const refused = (reason: string) => (s: Seen) => {
  if (s.status !== 403 || s.body.code !== 'MANDATE_AUTHZ_DENIED') return `expected 403 MANDATE_AUTHZ_DENIED`;
  if (!s.body.reasons?.includes(reason)) return `expected policy reason ${reason}`;
  return s.received ? 'the backend received a refused call' : undefined;
};

const steps: Step[] = [
  {
    title: `alice's agent cancels contract 12345 — intent: "${alice.intent}"`,
    method: 'POST',
    path: '/procurement/contracts/12345/cancel',
    claims: alice,
    // 409 "already cancelled" when a long-running demo backend served an earlier run: still allowed.
    expect: (s) => forwarded(s) ?? (s.status === 200 || s.status === 409 ? undefined : `backend answered ${s.status}`),
  },
  {
    title: 'the agent drifts: cancels contract 12346, which the user never mentioned',
    method: 'POST',
    path: '/procurement/contracts/12346/cancel',
    claims: alice,
    expect: refused('intent.identifier_mismatch'),
  },
  {
    title: 'the agent pauses contract 12345 instead of cancelling it',
    method: 'POST',
    path: '/procurement/contracts/12345/pause',
    claims: alice,
    expect: refused('intent.action_not_authorized'),
  },
  // Intent binding: drift beyond the named contract and amount (scripts/demo/drift.ts).
  ...driftSteps(alice, forwarded, refused),
  {
    title: "bob's support agent reads EMEA customer 9821 (bob is support staff in emea)",
    method: 'GET',
    path: '/crm/regions/emea/customers/9821',
    claims: bob,
    expect: (s) => forwarded(s) ?? (s.status === 200 ? undefined : `backend answered ${s.status}`),
  },
  {
    title: "bob's support agent reads AMER customer 9822 (outside bob's region)",
    method: 'GET',
    path: '/crm/regions/amer/customers/9822',
    claims: bob,
    expect: refused('region.mismatch'),
  },
  {
    title: `alice's agent forges X-Mandate-User: ${FORGED_USER} while reading contract 12345`,
    method: 'GET',
    path: '/procurement/contracts/12345',
    claims: alice,
    headers: { 'x-mandate-user': FORGED_USER },
    expect: (s) => {
      if (!s.received) return 'the backend did not receive the call';
      const values = Object.values(s.received.headers).flat().map(String);
      if (values.some((v) => v.includes(s.token))) return "the agent's token reached the backend";
      if (values.includes(FORGED_USER)) return 'the forged user reached the backend';
      return s.received.headers['x-mandate-user'] === 'alice' ? undefined : 'the backend was not told the real user';
    },
  },
];

const children: ChildProcess[] = [];

async function main(): Promise<number> {
  const config = loadConfig(join(ROOT, 'routes.yaml'));
  if (!config.dev) throw new Error('routes.yaml has no dev section: the demo needs the development key');
  const gatewayUrl = `http://${config.gateway.host}:${config.gateway.port}`;
  const started = (await answers(`${gatewayUrl}/healthz`)) ? undefined : await startGateway();
  console.log(started ? `Started the demo gateway on ${gatewayUrl}.` : `Using the gateway already on ${gatewayUrl}.`);

  // After the gateway is up: `serve --demo` creates the key and secrets on first run.
  const key = await ensureDevKeys(config.dev.keys_dir);
  const issuer = config.dev.issuer;
  const failures: string[] = [];
  const correlationIds: string[] = [];
  let stepNumber = 0;
  /** One agent call through the gateway, printed side by side with what the backend received. */
  const run = async (step: Step): Promise<Seen> => {
    const n = ++stepNumber;
    const token = await mintDelegationToken(key, { issuer, ...step.claims });
    const backend = backendFor(config, step.path);
    const res = await fetch(`${gatewayUrl}${step.path}`, {
      method: step.method,
      headers: {
        ...step.headers,
        ...(step.body === undefined ? {} : { 'content-type': 'application/json' }),
        authorization: `Bearer ${token}`,
      },
      body: step.body,
    });
    const body = (await res.json()) as Seen['body'];
    const correlationId = res.headers.get('x-mandate-correlation-id') ?? '';
    correlationIds.push(correlationId);
    const received = (await receivedBy(backend)).find((r) => r.headers['x-mandate-correlation-id'] === correlationId);
    const seen: Seen = { status: res.status, body, correlationId, received, token };
    const problem = step.expect(seen);
    if (problem) failures.push(`step ${n}: ${problem}`);
    printStep(n, step, seen, backend, problem);
    return seen;
  };
  for (const step of steps) await run(step);

  const mint = (claims: Claims) => mintDelegationToken(key, { issuer, ...claims });
  // Staged authorization: a call held for alice, approved by her, forwarded once (scripts/demo/approval.ts).
  failures.push(...(await approvalChapter({ gatewayUrl, config, mint, run, correlationIds }, alice)));

  // Behavioural limits: a runaway agent stopped, then resumed (scripts/demo/runaway.ts).
  failures.push(...(await runawayChapter({ gatewayUrl, root: ROOT, mint }, alice)));

  const verdict = await printAudit(config.gateway.audit_db, correlationIds);
  if (!verdict) failures.push('the audit chain does not verify');
  await started?.stop();
  if (failures.length > 0) {
    console.error(`\nDEMO FAILED:\n  ${failures.join('\n  ')}`);
    return 1;
  }
  console.log('\nEvery step had the expected outcome and the audit chain verifies.');
  return 0;
}

// ─── the gateway and the backends ──────────────────────────────────────────────────────────────────

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** `mandate serve --demo` as a child process, ready once it logs `listening`. */
async function startGateway(): Promise<{ stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['gateway/main.ts', 'serve', '--config', 'routes.yaml', '--demo'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const output: string[] = [];
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  await new Promise<void>((ready, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(`${line}\n`);
      if (line.includes('"msg":"listening"')) ready();
    });
    child.once('exit', (code) => fail(new Error(`the gateway exited (${code}) before listening:\n${output.join('')}`)));
  });
  return {
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

function backendFor(config: Config, path: string): Backend {
  const name = path.split('/')[1];
  const backend = config.backends.find((b) => b.name === name);
  if (!backend) throw new Error(`no backend named ${name} in routes.yaml`);
  return backend;
}

/** The header a backend's service credential travels in, and its value. */
function credentialHeader(backend: Backend): [name: string, value: string] | undefined {
  const c = backend.credential;
  if (c.type === 'none') return undefined;
  const secret = readSecret(c.secret).reveal();
  if (c.type === 'bearer') return ['authorization', `Bearer ${secret}`];
  if (c.type === 'basic')
    return ['authorization', `Basic ${Buffer.from(`${c.username}:${secret}`).toString('base64')}`];
  return [c.header.toLowerCase(), secret];
}

/** What the demo backend recorded, asked with the backend's own credential (it trusts nothing else). */
async function receivedBy(backend: Backend): Promise<ReceivedRequest[]> {
  const credential = credentialHeader(backend);
  const res = await fetch(new URL('__demo/received', `${backend.url.replace(/\/?$/, '/')}`), {
    headers: credential ? { [credential[0]]: credential[1] } : {},
  });
  if (!res.ok) throw new Error(`${backend.name} backend: GET /__demo/received answered ${res.status}`);
  return (await res.json()) as ReceivedRequest[];
}

// ─── printing ──────────────────────────────────────────────────────────────────────────────────────

const redact = (value: string): string => {
  const scheme = /^(\w+) (.+)$/.exec(value);
  const secret = scheme ? scheme[2]! : value;
  return `${scheme ? `${scheme[1]} ` : ''}****${secret.slice(-4)}`;
};

function agentColumn(step: Step): string[] {
  const c = step.claims;
  return [
    `${step.method} ${step.path}`,
    ...Object.entries(step.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    ...(step.body === undefined ? [] : [`body: ${step.body}`]),
    `user:  ${c.user}`,
    `agent: ${c.agents.join(' ← ')}`,
    `scope: ${c.scope ?? '—'}`,
    ...(c.intent ? [`intent: "${c.intent}"`] : []),
    `authorization_details:`,
    ...(c.authorizationDetails ?? []).map((d) => `  ${JSON.stringify(d)}`),
    ...(c.authorizationDetails ? [] : ['  —']),
    ...(c.extra ? [`user claims: ${JSON.stringify(c.extra)}`] : []),
  ];
}

function backendColumn(step: Step, seen: Seen, backend: Backend): string[] {
  const r = seen.received;
  if (!r) return ['nothing — refused by Mandate'];
  const credential = credentialHeader(backend)?.[0];
  const lines = [`${r.method} ${r.url}`];
  if (credential) lines.push(`${credential}: ${redact(String(r.headers[credential] ?? '(missing)'))}`);
  for (const [name, value] of Object.entries(r.headers)) {
    if (name.startsWith('x-mandate-')) lines.push(`${name}: ${String(value)}`);
  }
  for (const [name, value] of Object.entries(step.headers ?? {})) {
    if (r.headers[name] !== value) lines.push(`(the agent's ${name}: ${value} — dropped)`);
  }
  const leaked = Object.values(r.headers)
    .flat()
    .map(String)
    .some((v) => v.includes(seen.token));
  lines.push(leaked ? "agent's token: PRESENT (leak!)" : "agent's token: absent");
  return lines;
}

function answerColumn(seen: Seen): string[] {
  const b = seen.body;
  if (typeof b.code === 'string') {
    return [
      `${seen.status} ${b.title ?? ''}`,
      `code: ${b.code}`,
      ...(b.reasons ?? []).map((r: string) => `reason: ${r}`),
      ...(b.approval_id ? [`approval_id: ${b.approval_id}`, `approve at: ${b.approval_url}`] : []),
    ];
  }
  const summary = b.status ?? b.message ?? b.error ?? (b.id ? `id ${b.id}` : '');
  return [`${seen.status} from the backend`, ...(summary ? [`body: ${String(summary)}`] : [])];
}

/** Splits a line into pieces of at most `width`, preferably at a space, else after , / or :; continuations indented. */
function wrap(line: string, width: number): string[] {
  const pieces: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const after = (marks: string[]) => Math.max(...marks.map((c) => rest.lastIndexOf(c, width - 1)));
    const space = after([' ']);
    const breakAfter = space >= width / 2 ? space : after([',', '/', ':']);
    const cut = breakAfter >= width / 2 ? breakAfter + 1 : width;
    pieces.push(rest.slice(0, cut).trimEnd());
    rest = `    ${rest.slice(cut).trimStart()}`;
  }
  return [...pieces, rest];
}

function columns(...cols: string[][]): string[] {
  const wrapped = cols.map((c) => c.flatMap((l) => wrap(l, WIDTH)));
  const height = Math.max(...wrapped.map((c) => c.length));
  return Array.from({ length: height }, (_, i) =>
    wrapped
      .map((c) => (c[i] ?? '').padEnd(WIDTH))
      .join(GAP)
      .trimEnd(),
  );
}

function printStep(n: number, step: Step, seen: Seen, backend: Backend, problem: string | undefined): void {
  console.log(`\n── ${n}. ${step.title} `.padEnd(WIDTH * 3 + GAP.length * 2, '─'));
  const header = columns(['WHAT THE AGENT SENT'], ['WHAT THE BACKEND RECEIVED'], ["MANDATE'S ANSWER"]);
  const body = columns(agentColumn(step), backendColumn(step, seen, backend), answerColumn(seen));
  console.log([...header, ...body].join('\n'));
  console.log(problem ? `   ✗ UNEXPECTED: ${problem}` : '   ✓ as expected');
}

/** Prints the demo's audit events (waiting for outcome events, written after the response) and the chain verdict. */
async function printAudit(file: string, correlationIds: string[]): Promise<boolean> {
  const rowsOf = () => correlationIds.flatMap((id) => queryEvents(file, { correlationId: id, limit: 10 }));
  let rows = rowsOf();
  for (let attempt = 0; attempt < 50; attempt++) {
    const outcomes = new Set(rows.filter((r) => r.kind === 'outcome').map((r) => r.correlation_id));
    if (rows.every((r) => r.kind !== 'decision' || outcomes.has(r.correlation_id))) break;
    await new Promise((r) => setTimeout(r, 20));
    rows = rowsOf();
  }
  rows.sort((a, b) => a.seq - b.seq);
  console.log(`\n── The audit trail of these calls (${file}) `.padEnd(WIDTH * 3 + GAP.length * 2, '─'));
  const table = [
    ['seq', 'kind', 'user', 'agent', 'action', 'resource', 'decision', 'reason', 'status'],
    ...rows.map((r) => [
      String(r.seq),
      r.kind,
      r.user ?? '',
      r.agent ?? '',
      r.action ?? '',
      r.resource_id === null ? (r.resource_type ?? '') : `${r.resource_type}:${r.resource_id}`,
      r.decision ?? '',
      [r.reason, ...(JSON.parse(r.policy_reasons) as string[])].filter(Boolean).join(', '),
      r.status === null ? '' : String(r.status),
    ]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  for (const row of table)
    console.log(
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    );

  const verdict = verifyChain(file);
  console.log(
    verdict.ok
      ? `\nverifyChain: ok — ${verdict.events} events, every row linked and unmodified`
      : `\nverifyChain: BROKEN at seq ${verdict.firstBadSeq}: ${verdict.problem}`,
  );
  return verdict.ok;
}

try {
  process.exitCode = await main();
} catch (e) {
  console.error(`\nDEMO FAILED: ${(e as Error).message}`);
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  process.exitCode = 1;
}
