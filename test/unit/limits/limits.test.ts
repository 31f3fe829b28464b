import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { limitsSchema } from '../../../gateway/config/limits-schema.ts';
import { MandateError } from '../../../gateway/errors.ts';
import type { EndedTask } from '../../../gateway/limits/limit-types.ts';
import { Limits, type LimitsOptions } from '../../../gateway/limits/limits.ts';
import type { RouteMatch } from '../../../gateway/pipeline/2-resolve/route-match.ts';
import { WalSync } from '../../../gateway/pipeline/6-audit/wal-sync.ts';
import { tempDir } from '../../temp-dir.ts';
import { alice, bob, contractChange, contractList as listFixture, T0_MS } from '../3-authorize/fixtures.ts';

/** GET /procurement/contracts: a read. */
const contractList = (): RouteMatch => ({ ...listFixture(), tier: 'read' });

const dir = tempDir('mandate-limits-');
let files = 0;
const open: Limits[] = [];
after(() => {
  for (const limits of open) limits.close();
});

/** A Limits on its own state database (or `file`, to play a second process or a restart). */
function limits(
  config: unknown,
  options: { file?: string; now?: () => number; onTasksEnded?: LimitsOptions['onTasksEnded'] } = {},
) {
  const file = options.file ?? join(dir, `state-${files++}.db`);
  const opened = Limits.open(file, limitsSchema.parse(config), {
    now: options.now ?? (() => T0_MS),
    pollMs: 60_000,
    onTasksEnded: options.onTasksEnded,
  });
  open.push(opened);
  return { limits: opened, file };
}

const countN = (l: Limits, n: number, match: RouteMatch = contractList(), principal = alice()) => {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (l.count(principal, match, undefined, T0_MS) === undefined) allowed++;
  return allowed;
};

describe('limits', () => {
  it('counts up to the maximum, then names the limit crossed and when its window ends', () => {
    const { limits: l } = limits({ window_seconds: 60, task: { requests: 5 } });
    assert.equal(countN(l, 5), 5);
    assert.deepEqual(l.count(alice(), contractList(), undefined, T0_MS), {
      limit: 'task.requests',
      max: 5,
      windowEndsMs: T0_MS + 60_000,
    });
    // The next window starts over.
    assert.equal(l.count(alice(), contractList(), undefined, T0_MS + 60_000), undefined);
  });

  it('a call goes on once what it spent is on disk, without an fsync on the event loop', async () => {
    const { limits: l } = limits({ task: { requests: 100 }, persist_every: 10 });
    const microtasks = async (n: number) => {
      for (let i = 0; i < n; i++) await Promise.resolve();
    };
    const settled: string[] = [];
    // The first call reserves 1 + 9 ahead; the second draws on that reservation.
    const first = l.countDurably(alice(), contractList(), undefined, T0_MS).then(() => settled.push('first'));
    const second = l.countDurably(alice(), contractList(), undefined, T0_MS).then(() => settled.push('second'));
    await microtasks(10);
    assert.equal(settled.join(), '', 'both wait for the fsync, which no microtask can finish');
    await Promise.all([first, second]);
    assert.equal(settled.join(), 'first,second');
    // The reservation is on disk now: a call drawing on it goes on at once.
    const third = l.countDurably(alice(), contractList(), undefined, T0_MS).then(() => settled.push('third'));
    await microtasks(10);
    assert.equal(settled.join(), 'first,second,third');
    await third;
    // A call that crosses a limit is answered without waiting: nothing of it goes upstream.
    const { limits: tight } = limits({ task: { requests: 1 } });
    await tight.countDurably(alice(), contractList(), undefined, T0_MS);
    assert.equal((await tight.countDurably(alice(), contractList(), undefined, T0_MS))?.limit, 'task.requests');
  });

  it('a failed fsync refuses the calls it covered and every later one: MANDATE_LIMITS_UNAVAILABLE', async () => {
    // The WAL "file" the fsync runs on is /dev/null, where fsync fails (EINVAL): a disk that cannot sync.
    const unsyncable = join(dir, 'unsyncable.db');
    symlinkSync('/dev/null', `${unsyncable}-wal`);
    const file = join(dir, `state-${files++}.db`);
    const config = limitsSchema.parse({ task: { requests: 100 }, persist_every: 10 });
    const l = Limits.open(file, config, {
      now: () => T0_MS,
      pollMs: 60_000,
      openWalSync: () => WalSync.open(unsyncable),
    });
    open.push(l);
    const unavailable = (e: unknown) => e instanceof MandateError && e.code === 'MANDATE_LIMITS_UNAVAILABLE';
    // The first call reserves 1 + 9 ahead, the second draws on that reservation: both wait for its fsync.
    const first = l.countDurably(alice(), contractList(), undefined, T0_MS);
    const second = l.countDurably(alice(), contractList(), undefined, T0_MS);
    await assert.rejects(first, unavailable);
    await assert.rejects(second, unavailable);
    // Later calls: one drawing on the same unsynced reservation, and one (another task) needing a new one.
    await assert.rejects(l.countDurably(alice(), contractList(), undefined, T0_MS), unavailable);
    await assert.rejects(l.countDurably(bob(), contractList(), undefined, T0_MS), unavailable);
  });

  it('two processes on one state database never admit more than the maximum between them', () => {
    const first = limits({ task: { requests: 40 }, persist_every: 16 });
    const second = limits({ task: { requests: 40 }, persist_every: 16 }, { file: first.file });
    let allowed = 0;
    for (let i = 0; i < 60; i++) {
      if (first.limits.count(alice(), contractList(), undefined, T0_MS) === undefined) allowed++;
      if (second.limits.count(alice(), contractList(), undefined, T0_MS) === undefined) allowed++;
    }
    assert.ok(allowed <= 40, `${allowed} admitted`);
    assert.ok(allowed >= 40 - 2 * 15, `${allowed} admitted`);
  });

  it('a restart (or crash) keeps what was spent: reserved ahead counts as spent, never as free', () => {
    const before = limits({ task: { requests: 50 }, persist_every: 16 });
    assert.equal(countN(before.limits, 20), 20);
    // No close: the process "crashed" holding reserved, unused calls. Its blocks were 7, 6, 5 and 4
    // (16 at most, each at most an eighth of what was left): 22 reserved for 20 used.
    const after = limits({ task: { requests: 50 }, persist_every: 16 }, { file: before.file });
    const admitted = countN(after.limits, 50);
    assert.equal(admitted, 50 - 22);
    assert.ok(admitted <= 50 - 20, 'a crash never gives calls back');
  });

  it('writes count only calls to routes whose tier is not read; distinct resources by backend, type and id', () => {
    const { limits: l } = limits({ task: { writes: 2, distinct_resources: 2 } });
    assert.equal(countN(l, 3, contractList()), 3, 'reads are not writes; one collection is one resource');
    assert.equal(l.count(alice(), contractChange('cancel', '1'), undefined, T0_MS), undefined);
    assert.equal(l.count(alice(), contractChange('pause', '1'), undefined, T0_MS), undefined, 'same contract');
    assert.equal(l.count(alice(), contractChange('cancel', '1'), undefined, T0_MS)?.limit, 'task.writes');
    const { limits: r } = limits({ task: { distinct_resources: 2 } });
    assert.equal(countN(r, 2, contractList()), 2);
    assert.equal(r.count(alice(), contractChange('cancel', '1'), undefined, T0_MS), undefined);
    assert.equal(r.count(alice(), contractChange('cancel', '2'), undefined, T0_MS)?.limit, 'task.distinct_resources');
  });

  it('amounts add up per task; a route without the attribute (or null) is not counted; a non-number is malformed', () => {
    const { limits: l } = limits({ task: { amount: 100 }, amount_field: 'total' });
    const order = contractChange('cancel', '1');
    assert.equal(l.count(alice(), order, { total: 60 }, T0_MS), undefined);
    assert.equal(l.count(alice(), order, undefined, T0_MS), undefined);
    assert.equal(l.count(alice(), order, { total: null }, T0_MS), undefined);
    assert.equal(l.count(alice(), order, { total: 40 }, T0_MS), undefined);
    assert.equal(l.count(alice(), order, { total: 0.5 }, T0_MS)?.limit, 'task.amount');
    assert.throws(
      () => l.count(alice(), order, { total: '5' }, T0_MS),
      (e: unknown) => e instanceof MandateError && e.code === 'MANDATE_REQUEST_MALFORMED',
    );
  });

  it('amounts are summed exactly: the limit is reached at, never beside, the boundary', () => {
    const malformed = (e: unknown) => e instanceof MandateError && e.code === 'MANDATE_REQUEST_MALFORMED';
    const order = contractChange('cancel', '1');
    // In floating point 0.1 + 0.2 > 0.3: the second payment would be refused.
    const { limits: small, file } = limits({ task: { amount: 0.3 } });
    assert.equal(small.count(alice(), order, { amount: 0.1 }, T0_MS), undefined);
    assert.equal(small.count(alice(), order, { amount: 0.2 }, T0_MS), undefined);
    assert.equal(small.count(alice(), order, { amount: 0.0001 }, T0_MS)?.limit, 'task.amount');
    assert.equal(small.snapshot(alice(), T0_MS)?.task?.amount.count, 0.3);
    // A thousand payments of 0.01 reach 10 exactly; the next one is refused.
    const { limits: cents } = limits({ task: { amount: 10 } });
    for (let i = 0; i < 1000; i++) assert.equal(cents.count(alice(), order, { amount: 0.01 }, T0_MS), undefined);
    assert.equal(cents.count(alice(), order, { amount: 0.01 }, T0_MS)?.limit, 'task.amount');
    // The state database holds the amount itself, and another process (or a restart) reads it exactly.
    const again = limits({ task: { amount: 0.3 } }, { file });
    assert.equal(again.limits.snapshot(alice(), T0_MS)?.task?.amount.count, 0.3);
    assert.equal(again.limits.count(alice(), order, { amount: 0.0001 }, T0_MS)?.limit, 'task.amount');
    // More than four decimals, or more than the largest amount counted exactly, is refused, not rounded.
    for (const amount of [0.00001, 1e-7, 1e12, -1, Number.NaN]) {
      assert.throws(() => cents.count(alice(), order, { amount }, T0_MS), malformed, String(amount));
    }
    assert.throws(() => limitsSchema.parse({ task: { amount: 0.00001 } }), /four decimals/);
  });

  it('a task unused for task_idle_days ends: its rows are deleted and its txn is refused for good', () => {
    const day = 86_400_000;
    let nowMs = T0_MS;
    const config = { task: { requests: 100, distinct_resources: 10 }, task_idle_days: 2 };
    const reported: [string, number][] = [];
    const onTasksEnded = (tasks: readonly EndedTask[], atMs: number) => {
      for (const t of tasks) reported.push([t.txn, atMs]);
    };
    const { limits: l, file } = limits(config, { now: () => nowMs, onTasksEnded });
    const busy = alice({ txn: 'busy-task' });
    const idle = alice({ txn: 'idle-task' });
    assert.equal(l.count(idle, contractChange('cancel', '1'), undefined, nowMs), undefined);
    // Another process on the file keeps busy-task in use, day after day.
    const other = limits(config, { file, now: () => nowMs, onTasksEnded }).limits;
    for (let d = 0; d < 3; d++) {
      nowMs = T0_MS + d * day;
      assert.equal(other.count(busy, contractList(), undefined, nowMs), undefined);
      other.endIdleTasks(nowMs); // records what it holds, as its hourly clean-up does
    }
    nowMs = T0_MS + 2 * day + 1;
    // The first process still holds idle-task in memory, unused since T0: it does not keep it alive.
    assert.deepEqual(
      other.endIdleTasks(nowMs),
      [{ txn: 'idle-task', user: 'alice', agent: 'procurement-assistant', lastUsedMs: T0_MS }],
      'idle-task ended; busy-task was used a day ago',
    );
    // Each ending is reported once, by the process that ended it: the first one finds nothing left.
    assert.deepEqual(l.endIdleTasks(nowMs), []);
    assert.deepEqual(reported, [['idle-task', nowMs]]);
    const db = new Database(file, { readonly: true });
    const rows = (table: string, column: string) =>
      (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`).get('idle-task') as { n: number }).n;
    assert.deepEqual([rows('limit_counters', 'key'), rows('limit_task_resources', 'txn')], [0, 0]);
    db.close();
    // A process that never held it refuses it, at the proxy and at the token endpoint.
    const fresh = limits(config, { file, now: () => nowMs }).limits;
    assert.throws(
      () => fresh.count(idle, contractList(), undefined, nowMs),
      (e: unknown) => e instanceof MandateError && e.code === 'MANDATE_TASK_ENDED',
    );
    assert.equal(fresh.claimTask('idle-task', 'alice', 'hr-agent', nowMs), 'ended');
    assert.equal(fresh.claimTask('busy-task', 'alice', 'hr-agent', nowMs), 'claimed');
    assert.equal(fresh.claimTask('busy-task', 'bob', 'hr-agent', nowMs), 'other_user');
    assert.equal(fresh.count(busy, contractList(), undefined, nowMs), undefined);
  });

  it('a state database from before task ends gains their columns; its tasks count from their first sight', () => {
    const file = join(dir, `state-${files++}.db`);
    const old = new Database(file);
    old.exec(`CREATE TABLE limit_tasks (txn TEXT PRIMARY KEY, user TEXT, agent TEXT NOT NULL, first_seen_ms INTEGER NOT NULL) STRICT;
      INSERT INTO limit_tasks VALUES ('old-task', 'alice', 'hr-agent', ${T0_MS})`);
    old.close();
    const l = limits({ task: { requests: 5 }, task_idle_days: 1 }, { file }).limits;
    assert.equal(l.claimTask('old-task', 'alice', 'hr-agent', T0_MS), 'claimed');
    assert.deepEqual(
      l.endIdleTasks(T0_MS + 86_400_000 + 1).map((t) => t.txn),
      ['old-task'],
    );
    assert.equal(l.claimTask('old-task', 'alice', 'hr-agent', T0_MS), 'ended');
  });

  it('agent and user limits span tasks; a token without a txn is counted there only', () => {
    const { limits: l } = limits({ task: { requests: 1 }, agent: { requests: 3 }, user: { requests: 100 } });
    const noTask = alice({ txn: undefined });
    assert.equal(countN(l, 3, contractList(), noTask), 3);
    assert.deepEqual(l.count(noTask, contractList(), undefined, T0_MS)?.limit, 'agent.requests');
    assert.equal(l.count(bob(), contractList(), undefined, T0_MS), undefined, "another agent's budget");
  });

  it('input.limits: the counts before this call and the maxima (null when not limited)', () => {
    const { limits: l } = limits({
      window_seconds: 60,
      task: { requests: 10, writes: 5, amount: 1000 },
      user: { requests: 300 },
    });
    l.count(alice(), contractChange('cancel', '7'), { amount: 250 }, T0_MS);
    l.count(alice(), contractList(), undefined, T0_MS);
    assert.deepEqual(l.snapshot(alice(), T0_MS), {
      window_seconds: 60,
      task: {
        txn: 'task-8841',
        requests: { count: 2, max: 10 },
        writes: { count: 1, max: 5 },
        distinct_resources: { count: 0, max: null },
        amount: { count: 250, max: 1000 },
      },
      agent: { id: 'procurement-assistant', requests: { count: 0, max: null } },
      user: { id: 'alice', requests: { count: 2, max: 300 } },
    });
    assert.equal(limits(undefined).limits.snapshot(alice(), T0_MS), null, 'no limits section: null');
  });

  it('suspensions persist, reach another process on refresh, and a resumption gives a fresh budget', () => {
    const first = limits({ task: { requests: 2 } });
    assert.equal(countN(first.limits, 2), 2);
    const { changed, persisted } = first.limits.suspensions.change({
      txn: 'task-8841',
      state: 'suspended',
      by: 'ops',
      via: 'admin_api',
      reason: 'test',
      limit: null,
      user: 'alice',
    });
    assert.deepEqual([changed, persisted], [true, true]);
    const second = limits({ task: { requests: 2 } }, { file: first.file });
    assert.equal(second.limits.suspensions.isSuspended('task-8841'), true, 'loaded at start');
    assert.equal(second.limits.taskUser('task-8841'), 'alice');
    second.limits.suspensions.change({
      txn: 'task-8841',
      state: 'resumed',
      by: 'user:alice',
      via: 'user',
      reason: 'ok',
      limit: null,
      user: 'alice',
    });
    first.limits.suspensions.refresh();
    assert.equal(first.limits.suspensions.isSuspended('task-8841'), false);
    assert.equal(countN(first.limits, 3), 2, 'the budget starts over');
  });

  it('a resumption read back from the database does not reset the budget counted since', () => {
    const { limits: l } = limits({ task: { requests: 20 }, persist_every: 8 });
    const change = {
      txn: 'task-8841',
      by: 'ops',
      via: 'admin_api',
      reason: 'test',
      limit: null,
      user: 'alice',
    } as const;
    l.suspensions.change({ ...change, state: 'suspended' });
    l.suspensions.change({ ...change, state: 'resumed' });
    assert.equal(countN(l, 4), 4); // reserved 3, then 3 more: 2 of them not used yet
    // This process's own rows, read again: counting commits on a connection of its own, so the poll
    // sees the file changed and reads every row since the last it had read.
    l.suspensions.refresh();
    assert.equal(countN(l, 30), 16, 'the rest of the budget, not less');
  });

  it('the schema refuses unknown keys and non-positive maxima', () => {
    assert.equal(limitsSchema.safeParse({ task: { request: 5 } }).success, false);
    assert.equal(limitsSchema.safeParse({ task: { requests: 0 } }).success, false);
    assert.equal(limitsSchema.safeParse({ amount_field: 'a.b' }).success, false);
    assert.deepEqual(limitsSchema.parse({}), {
      window_seconds: 60,
      task: {},
      agent: {},
      user: {},
      amount_field: 'amount',
      persist_every: 16,
      task_idle_days: 30,
    });
    assert.equal(limitsSchema.safeParse({ task_idle_days: 0 }).success, false);
  });
});
