/**
 * Realistic synthetic audit events for the audit benchmarks, and a bulk loader that writes them through
 * the store (many events per transaction, indexes built afterwards): minutes for 10 million events.
 *
 * The traffic: 20,000 users (a few heavy, most light), each working through 1–3 of 40 agents; tasks
 * (txn) of one token issuance followed by 1–6 calls, 50 tasks in flight at once so their events
 * interleave; 200,000 resources of three types, a few hot; 88% of calls allowed (decision + outcome),
 * 10% denied by policy, 2% refused with an expired token; 3% of token requests refused. One year of
 * traffic, whatever the event count.
 */
import Database from 'better-sqlite3';
import type { AuditEvent } from '../../gateway/pipeline/6-audit/event.ts';
import { AuditStore } from '../../gateway/pipeline/6-audit/store.ts';
import { newTraceId } from '../../gateway/telemetry/trace-context.ts';

const USERS = 20_000;
const AGENTS = 40;
const IN_FLIGHT = 50;
const YEAR_MS = 365 * 24 * 3600 * 1000;
const START_MS = Date.parse('2026-01-01T00:00:00Z');

/** Deterministic PRNG (mulberry32): the same seed gives the same data set, so runs compare. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const resourceKinds = [
  { type: 'crm_customer', count: 100_000, backend: 'crm', actions: ['crm.customer.read', 'crm.customer.update'] },
  {
    type: 'procurement_contract',
    count: 50_000,
    backend: 'procurement',
    actions: ['procurement.contract.read', 'procurement.contract.cancel', 'procurement.contract.pause'],
  },
  { type: 'document', count: 50_000, backend: 'procurement', actions: ['procurement.document.download'] },
] as const;

interface Task {
  readonly user: string;
  readonly agent: string;
  readonly txn: string;
  readonly jti: string;
  readonly tokenHash: string;
  readonly intent: string;
  callsLeft: number;
  issued: boolean;
  /** An allowed call's outcome, owed as the task's next event. */
  pendingOutcome: AuditEvent | undefined;
}

/** Generates `count` events in chain order; `user(i)`, `agent(i)` name the i-th user and agent. */
export function* syntheticEvents(count: number, seed = 1): Generator<AuditEvent> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  // random()² skews towards 0: a few heavy users and hot resources, a long tail of light ones.
  const skewed = (n: number) => Math.floor(n * random() ** 2);
  const hex = (bytes: number) => {
    let out = '';
    for (let i = 0; i < bytes; i += 4)
      out += Math.floor(random() * 2 ** 32)
        .toString(16)
        .padStart(8, '0');
    return out.slice(0, bytes * 2);
  };
  const tasks: Task[] = [];
  const stepMs = YEAR_MS / count;

  for (let i = 0; i < count; i++) {
    const time = new Date(START_MS + Math.floor(i * stepMs)).toISOString();
    while (tasks.length < IN_FLIGHT) tasks.push(newTask());
    const slot = Math.floor(random() * tasks.length);
    const task = tasks[slot]!;
    const event = nextEvent(task, time);
    if (task.callsLeft === 0 && task.pendingOutcome === undefined) tasks.splice(slot, 1);
    yield event;
  }

  function newTask(): Task {
    const userIndex = skewed(USERS);
    const resource = resourceKinds[Math.floor(random() * resourceKinds.length)]!;
    return {
      user: userName(userIndex),
      agent: agentName((userIndex * 7 + Math.floor(random() * 3)) % AGENTS),
      txn: `task-${hex(8)}`,
      jti: hex(16),
      tokenHash: hex(32),
      intent: `${pick(resource.actions).split('.').at(-1)} ${resource.type.replace('_', ' ')} as asked in ticket ${Math.floor(random() * 1e6)}`,
      callsLeft: 1 + Math.floor(random() * 6),
      issued: false,
      pendingOutcome: undefined,
    };
  }

  function nextEvent(task: Task, time: string): AuditEvent {
    if (task.pendingOutcome) {
      const outcome = { ...task.pendingOutcome, time };
      task.pendingOutcome = undefined;
      return outcome;
    }
    if (!task.issued) {
      task.issued = true;
      const refused = random() < 0.03;
      if (refused) task.callsLeft = 0;
      return {
        ...base(task, time, hex(16)),
        kind: refused ? 'token_refused' : 'token_issued',
        method: 'POST',
        path: '/oauth2/token',
        decision: refused ? 'deny' : 'allow',
        reason: refused ? 'exchange.scope_not_permitted' : null,
        status: refused ? 400 : 200,
        detail: { requested_scope: 'crm:read crm:write', granted_scope: refused ? null : 'crm:read' },
      };
    }
    task.callsLeft -= 1;
    const kind = resourceKinds[Math.floor(random() * resourceKinds.length)]!;
    const id = String(10_000 + skewed(kind.count));
    const action = pick(kind.actions);
    const call: AuditEvent = {
      ...base(task, time, hex(16)),
      action,
      resourceType: kind.type,
      resourceId: id,
      method: action.endsWith('read') || action.endsWith('download') ? 'GET' : 'POST',
      path: `/${kind.backend}/${kind.type}/${id}`,
      backend: kind.backend,
      policyRevision: 'b3a1f0c9d2e84f6a9c1d7e5b2a4f8c0d1e3b5a7c9d2f4e6a8b0c1d3e5f7a9b1c',
    };
    const roll = random();
    if (roll < 0.88) {
      task.pendingOutcome = {
        ...call,
        kind: 'outcome',
        status: random() < 0.01 ? 502 : 200,
        durationMs: 5 + Math.floor(random() * 200),
        bytesIn: 0,
        bytesOut: 200 + Math.floor(random() * 4000),
      };
      return { ...call, kind: 'decision', decision: 'allow', credential: `${kind.backend}-service` };
    }
    if (roll < 0.98) {
      return {
        ...call,
        kind: 'denial',
        decision: 'deny',
        reason: 'authz.denied',
        policyReasons: ['intent.identifier_mismatch'],
        status: 403,
      };
    }
    return { ...call, kind: 'denial', decision: 'deny', reason: 'authn.token_expired', status: 401 };
  }
}

/** Every field present, as the pipeline writes them; the caller overrides what the event is about. */
function base(task: Task, time: string, correlationId: string): AuditEvent {
  return {
    kind: 'decision',
    time,
    correlationId,
    user: task.user,
    agent: task.agent,
    actorChain: [{ sub: task.agent, iss: 'https://mandate.example' }],
    jti: task.jti,
    tokenHash: task.tokenHash,
    txn: task.txn,
    authorizationDetails: [{ type: 'crm_customer', actions: ['read'] }],
    intent: task.intent,
    action: null,
    resourceType: null,
    resourceId: null,
    method: 'GET',
    path: '/',
    backend: null,
    decision: null,
    reason: null,
    policyReasons: [],
    policyRevision: null,
    credential: null,
    status: null,
    durationMs: null,
    bytesIn: null,
    bytesOut: null,
    detail: null,
  };
}

/**
 * The events `npm run bench` makes the gateway write: one user, agent, token, task and contract, each
 * call a decision and an outcome, with the gateway's own time-ordered trace ids. The writer's cheapest
 * case: every index entry lands on the last page of its index.
 */
export function* benchCallEvents(count: number, startMs = START_MS): Generator<AuditEvent> {
  const task: Task = {
    user: 'alice',
    agent: 'hr-agent',
    txn: 'bench-task',
    jti: '63951575-6f35-4ecc-adbb-52091aa4644a',
    tokenHash: 'ea111e35c507428eab51e61f40c7aef1f169e3e14dbb11e5f36cbbad21222131',
    intent: '',
    callsLeft: 0,
    issued: true,
    pendingOutcome: undefined,
  };
  for (let i = 0; i < count; i += 2) {
    const nowMs = startMs + i;
    const call: AuditEvent = {
      ...base(task, new Date(nowMs).toISOString(), newTraceId(nowMs)),
      actorChain: [{ sub: task.agent }],
      authorizationDetails: [],
      intent: null,
      action: 'procurement.contract.read',
      resourceType: 'contract',
      resourceId: '12345',
      path: '/procurement/contracts/12345',
      backend: 'procurement',
      decision: 'allow',
      policyRevision: '9e5cc769d839861538b462d09628276f42bbf303b34b3b47b615a1719c012195',
      credential: 'procurement-service-account',
    };
    yield call;
    yield { ...call, kind: 'outcome', status: 200, durationMs: 3.2, bytesIn: 0, bytesOut: 94 };
  }
}

export const userName = (i: number) => `user${String(i).padStart(5, '0')}@corp.example`;
export const agentName = (i: number) => `agent-${String(i).padStart(2, '0')}`;

/**
 * Loads `events` into the audit database `file` (created if needed) through the store's own append
 * path, `AuditStore.appendBatch`, `batch` events per transaction — the chain is exactly what the
 * gateway would have written. The `events` indexes are dropped for the load (indexing row by row is
 * far slower than building an index once) and, with `rebuildIndexes`, built again afterwards.
 */
export function bulkLoad(
  file: string,
  events: Iterable<AuditEvent>,
  options: { rebuildIndexes: boolean; batch?: number },
): { loadMs: number; indexMs: number } {
  const store = AuditStore.open(file, { durability: 'normal' });
  const db = new Database(file);
  try {
    const indexes = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL")
      .all() as { name: string; sql: string }[];
    for (const { name } of indexes) db.exec(`DROP INDEX ${name}`);
    // Appends land in recent_events; moved into events at once, while it has no index to update.
    const append = (chunk: AuditEvent[]) => {
      store.appendBatch(chunk);
      store.foldAll(chunk.length);
    };
    let startMs = performance.now();
    let chunk: AuditEvent[] = [];
    for (const event of events) {
      chunk.push(event);
      if (chunk.length === (options.batch ?? 50_000)) {
        append(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) append(chunk);
    const loadMs = performance.now() - startMs;
    startMs = performance.now();
    if (options.rebuildIndexes) for (const { sql } of indexes) db.exec(sql);
    return { loadMs, indexMs: performance.now() - startMs };
  } finally {
    store.close();
    db.close();
  }
}
