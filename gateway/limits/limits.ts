import type { LimitsConfig } from '../config/limits-schema.ts';
import { MandateError } from '../errors.ts';
import type { Principal } from '../pipeline/1-authenticate/principal.ts';
import type { RouteMatch } from '../pipeline/2-resolve/route-match.ts';
import { log } from '../telemetry/log.ts';
import { fromUnits, MAX_AMOUNT, toUnits } from './amount.ts';
import { LeasedCounter } from './leased-counter.ts';
import { LimitStore, type LimitStoreOptions } from './limit-store.ts';
import type { EndedTask, LimitName } from './limit-types.ts';
import type { LimitCount, LimitsInput } from './limits-input.ts';
import { TaskSuspensions } from './task-suspensions.ts';

/** A limit the call would have crossed: it is refused, and its task suspended. */
export interface Crossing {
  readonly limit: LimitName;
  readonly max: number;
  /** For a per-window limit, when its window ends (ms): the earliest a call could count again. */
  readonly windowEndsMs: number | null;
}

/** One task's counters in this process. */
interface TaskCounters {
  /** The user first seen with the task (state database `limit_tasks`): who may resume it. */
  readonly user: string | null;
  readonly requests: LeasedCounter;
  readonly writes: LeasedCounter;
  readonly amount: LeasedCounter;
  /** Resources this process knows the task has touched; the database has them all. */
  readonly resources: Set<string>;
  resourceCount: number;
  /** The spending commit of the newest resource this process added (LimitStore.synced). */
  resourcesCommit: number;
  lastSeenMs: number;
}

interface WindowCounter {
  readonly counter: LeasedCounter;
  lastSeenMs: number;
}

export interface LimitsOptions {
  readonly now: () => number;
  /** How often suspensions stored by another process are picked up (default 1000 ms). */
  readonly pollMs?: number;
  /** See LimitStoreOptions: tests give a state database whose WAL cannot be fsynced. */
  readonly openWalSync?: LimitStoreOptions['openWalSync'];
  /**
   * Told of the tasks this process ended (`endIdleTasks`), once each across all processes, and after
   * how many idle days (`limits.task_idle_days`): the audit.
   */
  readonly onTasksEnded?: (tasks: readonly EndedTask[], atMs: number, idleDays: number) => void;
}

/** Counters idle this long are dropped from memory (and re-read from the database if used again). */
const IDLE_MS = 10 * 60_000;
/** How often each process ends the tasks unused for `limits.task_idle_days`. */
const TASK_CLEAN_UP_EVERY_MS = 3600_000;
const DAY_MS = 86_400_000;

/**
 * The behavioural limits (routes.yaml `limits`) and the task kill switch. Counted in memory on every
 * call the policy allowed; reserved in the state database before forwarding (see LeasedCounter), so
 * neither a restart nor a crash resets a budget; visible to policy as `input.limits`.
 */
export class Limits {
  readonly suspensions: TaskSuspensions;
  readonly #config: LimitsConfig | undefined;
  readonly #store: LimitStore;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  readonly #tasks = new Map<string, TaskCounters>();
  readonly #agents = new Map<string, WindowCounter>();
  readonly #users = new Map<string, WindowCounter>();
  #pollFailing = false;
  #lastTaskCleanUpMs: number;
  readonly #onTasksEnded: LimitsOptions['onTasksEnded'];
  /** `limits.task.amount` in units (amount.ts), the schema having checked it converts exactly. */
  readonly #maxAmountUnits: number | undefined;

  private constructor(store: LimitStore, config: LimitsConfig | undefined, options: LimitsOptions) {
    this.#store = store;
    this.#config = config;
    this.#now = options.now;
    this.#lastTaskCleanUpMs = options.now();
    this.#onTasksEnded = options.onTasksEnded;
    const maxAmount = config?.task.amount;
    this.#maxAmountUnits = maxAmount === undefined ? undefined : toUnits(maxAmount);
    this.suspensions = new TaskSuspensions(store, { now: options.now, onResumed: (txn) => this.#tasks.delete(txn) });
    this.#timer = setInterval(() => this.#poll(), options.pollMs ?? 1000);
    this.#timer.unref();
  }

  /** Opens the state database and loads the suspensions; throws (the gateway does not start) if it cannot. */
  static open(stateDb: string, config: LimitsConfig | undefined, options: LimitsOptions): Limits {
    const store = LimitStore.open(stateDb, { busyTimeoutMs: 500, openWalSync: options.openWalSync });
    try {
      return new Limits(store, config, options);
    } catch (e) {
      store.close();
      throw e;
    }
  }

  /**
   * Whether `txn` may be issued for `user` (null: a background agent): `claimed` when it is new, and
   * is now theirs, or is already theirs; `other_user` when it is another user's (its budget, its
   * suspension and who may resume it are keyed by the txn alone); `ended` when it ended unused
   * (limits.task_idle_days).
   */
  claimTask(txn: string, user: string | null, agent: string, nowMs: number): 'claimed' | 'other_user' | 'ended' {
    const known = this.#tasks.get(txn);
    if (known !== undefined) return known.user === user ? 'claimed' : 'other_user';
    const task = this.#store.claimTask(txn, user, agent, nowMs);
    if (task.ended) return 'ended';
    return task.user === user ? 'claimed' : 'other_user';
  }

  /** The user who may resume this task besides an admin: the one seen with it; null if unknown. */
  taskUser(txn: string): string | null {
    return this.#tasks.get(txn)?.user ?? this.#store.taskUser(txn);
  }

  /** `input.limits` for this call, before it is counted; null when routes.yaml has no `limits`. */
  snapshot(principal: Principal, nowMs: number): LimitsInput | null {
    const config = this.#config;
    if (config === undefined) return null;
    const window = this.#windowStart(nowMs);
    const txn = principal.txn;
    const task = txn === undefined ? undefined : this.#task(txn, principal, nowMs);
    const user = principal.noUser ? null : principal.user;
    const agent = principal.agent.sub;
    return {
      window_seconds: config.window_seconds,
      task:
        txn === undefined || task === undefined
          ? null
          : {
              txn,
              requests: limitCount(task.requests.count(window), config.task.requests),
              writes: limitCount(task.writes.count(0), config.task.writes),
              distinct_resources: limitCount(task.resourceCount, config.task.distinct_resources),
              amount: limitCount(fromUnits(task.amount.count(0)), config.task.amount),
            },
      agent: { id: agent, requests: limitCount(this.#windowCount(this.#agents, agent, window), config.agent.requests) },
      user:
        user === null
          ? null
          : { id: user, requests: limitCount(this.#windowCount(this.#users, user, window), config.user.requests) },
    };
  }

  /**
   * Counts an allowed call against every configured limit, task limits first. Returns the first limit
   * it would cross — then the call is not forwarded, and counts only against the limits checked before
   * that one (the task's, which its suspension makes moot; the agent's is given back). `attributes`:
   * the route's request body attributes, where the call's amount is read.
   *
   * @throws MandateError MANDATE_REQUEST_MALFORMED when the amount attribute is present but not a
   *   non-negative number of at most four decimals (amount.ts) while an amount limit is configured.
   */
  count(
    principal: Principal,
    match: RouteMatch,
    attributes: Readonly<Record<string, unknown>> | null | undefined,
    nowMs: number,
  ): Crossing | undefined {
    return this.#count(principal, match, attributes, nowMs, { commit: 0 });
  }

  /**
   * `count`, then, for a call within its limits, waits until what it spent is on disk (the state
   * database's WAL fsynced on libuv's pool, see LimitStore.open): only then may it go upstream.
   *
   * @throws MandateError MANDATE_LIMITS_UNAVAILABLE when that fsync failed.
   */
  async countDurably(
    principal: Principal,
    match: RouteMatch,
    attributes: Readonly<Record<string, unknown>> | null | undefined,
    nowMs: number,
  ): Promise<Crossing | undefined> {
    const paid: PaidBy = { commit: 0 };
    const crossing = this.#count(principal, match, attributes, nowMs, paid);
    if (crossing !== undefined) return crossing;
    const synced = this.#store.synced(paid.commit);
    if (synced !== undefined) await synced;
    return undefined;
  }

  /** `count`, noting in `paid` the newest spending commit the call's counts depend on. */
  #count(
    principal: Principal,
    match: RouteMatch,
    attributes: Readonly<Record<string, unknown>> | null | undefined,
    nowMs: number,
    paid: PaidBy,
  ): Crossing | undefined {
    const config = this.#config;
    const txn = principal.txn;
    const task = txn === undefined ? undefined : this.#task(txn, principal, nowMs);
    if (config === undefined) return undefined;
    const window = this.#windowStart(nowMs);
    const windowEndsMs = window + config.window_seconds * 1000;
    const max = config.task;
    if (txn !== undefined && task !== undefined) {
      if (max.requests !== undefined) {
        if (!task.requests.take(1, max.requests, config.persist_every - 1, window, nowMs)) {
          return { limit: 'task.requests', max: max.requests, windowEndsMs };
        }
        paidBy(paid, task.requests.leaseCommit);
      }
      // Writes and amounts are reserved exactly, one call at a time: no extra reserved ahead.
      if (max.writes !== undefined && match.tier !== 'read') {
        if (!task.writes.take(1, max.writes, 0, 0, nowMs)) {
          return { limit: 'task.writes', max: max.writes, windowEndsMs: null };
        }
        paidBy(paid, task.writes.leaseCommit);
      }
      const amount = max.amount === undefined ? undefined : amountOf(attributes, config.amount_field);
      if (max.amount !== undefined && amount !== undefined) {
        // In units (amount.ts): exact sums, so the boundary is where the limit says.
        if (!task.amount.take(amount, this.#maxAmountUnits!, 0, 0, nowMs)) {
          return { limit: 'task.amount', max: max.amount, windowEndsMs: null };
        }
        paidBy(paid, task.amount.leaseCommit);
      }
      if (max.distinct_resources !== undefined && !this.#touch(txn, task, match, max.distinct_resources, paid)) {
        return { limit: 'task.distinct_resources', max: max.distinct_resources, windowEndsMs: null };
      }
    }
    const extra = config.persist_every - 1;
    const agent = config.agent.requests;
    let agentCounter: LeasedCounter | undefined;
    if (agent !== undefined) {
      agentCounter = this.#windowCounter(this.#agents, 'agent', principal.agent.sub, window, nowMs);
      if (!agentCounter.take(1, agent, extra, window, nowMs))
        return { limit: 'agent.requests', max: agent, windowEndsMs };
      paidBy(paid, agentCounter.leaseCommit);
    }
    const user = config.user.requests;
    if (user !== undefined && !principal.noUser) {
      const counter = this.#windowCounter(this.#users, 'user', principal.user, window, nowMs);
      if (!counter.take(1, user, extra, window, nowMs)) {
        agentCounter?.giveBack(1);
        return { limit: 'user.requests', max: user, windowEndsMs };
      }
      paidBy(paid, counter.leaseCommit);
    }
    return undefined;
  }

  close(): void {
    clearInterval(this.#timer);
    try {
      // What this process used last: a task in use must not look idle to the next clean-up.
      this.#store.taskSeen(this.#lastUses());
    } finally {
      this.#store.close();
    }
  }

  /** When this process last used each task it holds (txn → ms). */
  #lastUses(): Map<string, number> {
    return new Map([...this.#tasks].map(([txn, task]) => [txn, task.lastSeenMs]));
  }

  #windowStart(nowMs: number): number {
    const size = (this.#config?.window_seconds ?? 60) * 1000;
    return nowMs - (nowMs % size);
  }

  /** The task's counters, read from the database the first time this process sees the task. */
  #task(txn: string, principal: Principal, nowMs: number): TaskCounters | undefined {
    let task = this.#tasks.get(txn);
    if (task === undefined) {
      // Whose task it is: this user's if it is new, else whoever it was first seen (or issued) with.
      const owner = this.#store.claimTask(txn, principal.noUser ? null : principal.user, principal.agent.sub, nowMs);
      if (owner.ended) throw new MandateError('MANDATE_TASK_ENDED', `task ${txn} ended after going unused`);
      const resources = this.#store.resources(txn);
      const counter = (name: 'requests' | 'writes' | 'amount', window: number) =>
        new LeasedCounter(this.#store, 'task', txn, name, window);
      task = {
        requests: counter('requests', this.#windowStart(nowMs)),
        writes: counter('writes', 0),
        amount: counter('amount', 0),
        resources: new Set(resources),
        resourceCount: resources.length,
        resourcesCommit: 0,
        lastSeenMs: nowMs,
        user: owner.user,
      };
      this.#tasks.set(txn, task);
    }
    task.lastSeenMs = nowMs;
    return task;
  }

  /** Whether the task may touch this resource: one it already has, or a new one within `max`. */
  #touch(txn: string, task: TaskCounters, match: RouteMatch, max: number, paid: PaidBy): boolean {
    // Backend, type and id: the same id under two resource types (or backends) is two resources; a
    // collection (no id) is one resource of its type.
    const resource = `${match.backend.name}/${match.resource.type}/${match.resource.id ?? ''}`;
    if (!task.resources.has(resource)) {
      const { outcome, count, commit } = this.#store.addResource(txn, resource, max);
      task.resourceCount = count;
      if (outcome === 'refused') return false;
      task.resources.add(resource);
      task.resourcesCommit = commit;
    }
    // A resource another call added may still be on its way to disk.
    paidBy(paid, task.resourcesCommit);
    return true;
  }

  #windowCounter(
    counters: Map<string, WindowCounter>,
    scope: 'agent' | 'user',
    key: string,
    window: number,
    nowMs: number,
  ): LeasedCounter {
    let entry = counters.get(key);
    if (entry === undefined) {
      entry = { counter: new LeasedCounter(this.#store, scope, key, 'requests', window), lastSeenMs: nowMs };
      counters.set(key, entry);
    }
    entry.lastSeenMs = nowMs;
    return entry.counter;
  }

  #windowCount(counters: Map<string, WindowCounter>, key: string, window: number): number {
    return counters.get(key)?.counter.count(window) ?? 0;
  }

  #poll(): void {
    try {
      this.suspensions.refresh();
      if (this.#pollFailing) log.info('state database readable again; task suspensions up to date');
      this.#pollFailing = false;
    } catch (err) {
      // Suspensions already loaded stay in force; only other processes' new ones are delayed.
      if (!this.#pollFailing) log.error({ err }, 'cannot read task suspensions from the state database');
      this.#pollFailing = true;
    }
    const nowMs = this.#now();
    const idleBefore = nowMs - Math.max(IDLE_MS, 2 * (this.#config?.window_seconds ?? 60) * 1000);
    // A task forgotten here records its last use first: tasks unused for days end (#endIdleTasks).
    const forgotten = new Map<string, number>();
    for (const [txn, task] of this.#tasks) {
      if (task.lastSeenMs < idleBefore) {
        forgotten.set(txn, task.lastSeenMs);
        this.#tasks.delete(txn);
      }
    }
    for (const counters of [this.#agents, this.#users]) {
      for (const [key, entry] of counters) if (entry.lastSeenMs < idleBefore) counters.delete(key);
    }
    try {
      this.#store.taskSeen(forgotten);
      if (nowMs - this.#lastTaskCleanUpMs >= TASK_CLEAN_UP_EVERY_MS) this.endIdleTasks(nowMs);
    } catch (err) {
      log.error({ err }, 'cannot record task use in the state database');
    }
  }

  /**
   * Ends the tasks unused for `limits.task_idle_days` (LimitStore.endIdleTasks), after recording the
   * last use of every task this process holds, so none in use ends. Runs hourly from the poll, on
   * every process sharing the state database; returns the tasks this process ended, which it also
   * reports to `onTasksEnded`.
   */
  endIdleTasks(nowMs: number): EndedTask[] {
    this.#lastTaskCleanUpMs = nowMs;
    if (this.#config === undefined) return [];
    this.#store.taskSeen(this.#lastUses());
    const ended = this.#store.endIdleTasks(nowMs - this.#config.task_idle_days * DAY_MS, nowMs);
    // Forgotten here, so this process's next call for one reads it back, ended, and is refused.
    for (const task of ended) this.#tasks.delete(task.txn);
    if (ended.length > 0) {
      log.info({ ended: ended.length, idleDays: this.#config.task_idle_days }, 'idle tasks ended');
      this.#onTasksEnded?.(ended, nowMs, this.#config.task_idle_days);
    }
    return ended;
  }
}

/** The newest spending commit (LimitStore.synced) a call's counts depend on, as they are taken. */
interface PaidBy {
  commit: number;
}

const paidBy = (paid: PaidBy, commit: number): void => {
  paid.commit = Math.max(paid.commit, commit);
};

const limitCount = (count: number, max: number | undefined): LimitCount => ({ count, max: max ?? null });

/**
 * The call's amount, in units (amount.ts): absent (or null) → not counted; present, it must be a
 * non-negative number of at most four decimals, not above MAX_AMOUNT.
 */
function amountOf(attributes: Readonly<Record<string, unknown>> | null | undefined, field: string): number | undefined {
  // A body field the route lists but the body lacks reads as null: nothing to count.
  const amount =
    attributes !== null && attributes !== undefined && Object.hasOwn(attributes, field) ? attributes[field] : null;
  if (amount === null) return undefined;
  const units = typeof amount === 'number' ? toUnits(amount) : undefined;
  if (units === undefined) {
    throw new MandateError(
      'MANDATE_REQUEST_MALFORMED',
      `${field}: a non-negative number of at most four decimals, up to ${MAX_AMOUNT}, is required`,
    );
  }
  return units;
}
