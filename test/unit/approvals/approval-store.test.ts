import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Approval } from '../../../gateway/approvals/approval.ts';
import { ApprovalStore } from '../../../gateway/approvals/approval-store.ts';
import { requestDigest } from '../../../gateway/approvals/request-digest.ts';
import { tempDir } from '../../temp-dir.ts';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const dir = tempDir('mandate-approvals-');
let files = 0;
const opened: ApprovalStore[] = [];
after(() => {
  for (const store of opened) store.close();
});

/** A store on its own state database, or on `file` (a second gateway process on the same file). */
function open(file = join(dir, `state-${files++}.db`)): { store: ApprovalStore; file: string } {
  const store = ApprovalStore.open(file);
  opened.push(store);
  return { store, file };
}

let ids = 0;
/** A pending approval of alice's, created at T0, expiring 15 minutes later. */
function pending(store: ApprovalStore, overrides: Partial<Approval> = {}): Approval {
  const body = Buffer.from('{"reason":"vendor X went bankrupt"}');
  const approval = {
    id: `apr_test${ids++}`,
    user: 'alice',
    agentChain: [{ sub: 'hr-agent' }],
    action: 'procurement.contract.cancel',
    resourceType: 'contract',
    resourceId: '12345',
    method: 'POST',
    target: '/procurement/contracts/12345/cancel',
    body,
    digest: requestDigest('POST', '/procurement/contracts/12345/cancel', body),
    policyRevision: 'rev-1',
    txn: 'task-1',
    intent: 'cancel my contractor agreement',
    createdAtMs: T0,
    expiresAtMs: T0 + 15 * MINUTE,
    correlationId: 'c'.repeat(32),
    ...overrides,
  };
  store.insert(approval);
  return store.get(approval.id)!;
}

describe('ApprovalStore', () => {
  it('stores a pending approval as given, body bytes and agent chain included', () => {
    const { store } = open();
    const a = pending(store);
    assert.equal(a.status, 'pending');
    assert.deepEqual(a.agentChain, [{ sub: 'hr-agent' }]);
    assert.equal(a.body?.toString(), '{"reason":"vendor X went bankrupt"}');
    assert.deepEqual([a.decidedAtMs, a.decidedBy, a.usedAtMs], [null, null, null]);
    assert.deepEqual(
      store.pendingFor('alice', T0).map((p) => p.id),
      [a.id],
    );
    assert.deepEqual(store.pendingFor('bob', T0), []);
  });

  it('decides only a pending, unexpired approval, only as its own user, only once', () => {
    const { store } = open();
    const a = pending(store);
    assert.equal(store.decide(a.id, 'bob', 'approved', T0 + 1), false, 'another user cannot decide it');
    assert.equal(store.decide(a.id, 'alice', 'approved', T0 + 15 * MINUTE), false, 'not once it expired');
    assert.equal(store.decide(a.id, 'alice', 'approved', T0 + 1), true);
    assert.equal(store.decide(a.id, 'alice', 'rejected', T0 + 2), false, 'a decision cannot be changed');
    const decided = store.get(a.id)!;
    assert.deepEqual([decided.status, decided.decidedBy, decided.decidedAtMs], ['approved', 'alice', T0 + 1]);
    assert.deepEqual(store.pendingFor('alice', T0 + 2), []);
  });

  it('uses an approved approval once; never a pending, rejected or expired one', () => {
    const { store } = open();
    const waiting = pending(store);
    assert.equal(store.use(waiting.id, T0 + 1), false, 'pending');
    const rejected = pending(store);
    store.decide(rejected.id, 'alice', 'rejected', T0 + 1);
    assert.equal(store.use(rejected.id, T0 + 2), false, 'rejected');
    const late = pending(store);
    store.decide(late.id, 'alice', 'approved', T0 + 1);
    assert.equal(store.use(late.id, T0 + 15 * MINUTE), false, 'expired at expires_at exactly');

    const a = pending(store);
    store.decide(a.id, 'alice', 'approved', T0 + 1);
    assert.equal(store.use(a.id, T0 + 2), true);
    assert.equal(store.use(a.id, T0 + 3), false, 'single use');
    assert.equal(store.get(a.id)!.usedAtMs, T0 + 2);
    assert.equal(store.use('apr_unknown', T0 + 3), false);
  });

  it('two gateways racing on one file: exactly one use of each approval wins', async () => {
    const { store, file } = open();
    const ids = Array.from({ length: 50 }, () => {
      const a = pending(store);
      store.decide(a.id, 'alice', 'approved', T0 + 1);
      return a.id;
    });
    // Two threads, each with its own connection (as two gateway processes would have), released together
    // onto the same approvals. Which one wins each is up to SQLite's locking; that only one does is not.
    const start = new SharedArrayBuffer(8);
    const flag = new Int32Array(start);
    const workers = [0, 1].map(
      () =>
        new Worker(new URL('./use-race-worker.ts', import.meta.url), {
          workerData: { file, ids, start, nowMs: T0 + 2 },
        }),
    );
    const results = workers.map((w) => once(w, 'message').then(([won]) => won as string[]));
    while (Atomics.load(flag, 1) < workers.length) await sleep(5);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    const [first, second] = await Promise.all(results);
    assert.deepEqual([...first!, ...second!].sort(), [...ids].sort(), 'each approval used exactly once');
  });

  it('releases only the use it made: the approval can then be used again', () => {
    const { store } = open();
    const a = pending(store);
    store.decide(a.id, 'alice', 'approved', T0 + 1);
    assert.equal(store.use(a.id, T0 + 2), true);
    assert.equal(store.release(a.id, T0 + 3), false, 'not the use made at T0 + 3');
    assert.equal(store.get(a.id)!.usedAtMs, T0 + 2);
    assert.equal(store.release(a.id, T0 + 2), true);
    assert.equal(store.get(a.id)!.usedAtMs, null);
    assert.equal(store.release(a.id, T0 + 2), false, 'released once');
    assert.equal(store.use(a.id, T0 + 4), true, 'a retry uses it');
    assert.equal(store.use(a.id, T0 + 5), false);
  });

  it('takes back only an unused decision made at the given time (its audit event failed); counts what waits', () => {
    const { store } = open();
    const a = pending(store);
    const b = pending(store);
    assert.equal(store.pendingCount('alice', T0 + 1), 2);
    store.decide(a.id, 'alice', 'approved', T0 + 1);
    assert.equal(store.undecide(a.id, T0 + 2), false, 'not the decision made at T0 + 2');
    assert.equal(store.undecide(a.id, T0 + 1), true);
    assert.equal(store.get(a.id)!.status, 'pending');
    assert.equal(store.get(a.id)!.decidedBy, null);
    assert.equal(store.use(a.id, T0 + 3), false, 'a pending approval cannot be used');
    store.decide(b.id, 'alice', 'approved', T0 + 4);
    assert.equal(store.use(b.id, T0 + 5), true);
    assert.equal(store.undecide(b.id, T0 + 4), false, 'a used approval stays decided');
    assert.equal(store.pendingCount('alice', T0 + 6), 1);
    assert.equal(store.pendingCount('alice', T0 + 16 * MINUTE), 0, 'expired ones do not wait');
  });

  it('prunes approvals a day after they expired, when a new one is stored', () => {
    const { store } = open();
    const old = pending(store);
    const day = 24 * 60 * MINUTE;
    pending(store, { createdAtMs: old.expiresAtMs + day - 1, expiresAtMs: old.expiresAtMs + day + 15 * MINUTE });
    assert.notEqual(store.get(old.id), undefined, 'kept for a day after expiry');
    pending(store, { createdAtMs: old.expiresAtMs + day + 1, expiresAtMs: old.expiresAtMs + day + 16 * MINUTE });
    assert.equal(store.get(old.id), undefined);
  });

  it('refuses what the schema forbids: a use of an undecided approval', () => {
    const { store, file } = open();
    const a = pending(store);
    // What a bug writing the file directly would do; the CHECK constraint stops it.
    const db = new Database(file);
    try {
      assert.throws(() => db.prepare('UPDATE approvals SET used_at_ms = 1 WHERE id = ?').run(a.id), /CHECK/);
    } finally {
      db.close();
    }
  });
});
