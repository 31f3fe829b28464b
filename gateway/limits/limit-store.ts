import type Database from 'better-sqlite3';
import { MandateError } from '../errors.ts';
import { WalSync } from '../pipeline/6-audit/wal-sync.ts';
import { openStateDb } from '../state/open-state-db.ts';
import { isIoError, isStorageUnavailable } from '../state/sqlite-failure.ts';
import { fromUnits, UNITS_PER_AMOUNT } from './amount.ts';
import type { CounterName, CounterScope, EndedTask, LimitName, TaskStateChange } from './limit-types.ts';

export interface LimitStoreOptions {
  readonly busyTimeoutMs?: number;
  /** How the WAL is fsynced; tests give a disk that cannot sync. Default: `WalSync.open`. */
  readonly openWalSync?: (dbFile: string) => WalSync;
}

/**
 * Limit counters and task suspensions in the state database (`gateway.state_db`, SQLite, WAL), in
 * their own tables beside the revocations. Every change is one short transaction, so several
 * processes (gateways on the same file, `mandate task …`) can share it: a counter is only ever
 * increased by "add unless that passes the maximum", read and written under SQLite's write lock, so
 * the sum of what all processes admitted never passes a maximum.
 */
export class LimitStore {
  readonly #db: Database.Database;
  /** The connection budgets are spent on: commits at NORMAL, made durable by `#walSync`. */
  readonly #spend: Database.Database;
  readonly #walSync: WalSync;
  /** Spending commits made, and the newest one an fsync has made durable. */
  #commits = 0;
  #synced = 0;
  /** Per spending commit not yet synced: settles once it is (rejects if its fsync failed). */
  readonly #syncing = new Map<number, Promise<void>>();
  /** Set once an fsync failed: what it covered may be lost, so nothing is spent until a restart. */
  #syncFailed: MandateError | undefined;
  readonly #reserve: (...args: Parameters<LimitStore['reserve']>) => Omit<Reservation, 'commit'>;
  readonly #addResource: (txn: string, resource: string, max: number) => Omit<ResourceCount, 'commit'>;
  readonly #change: (change: Omit<TaskStateChange, 'id'>) => number;
  readonly #counter: Database.Statement<[CounterScope, string, CounterName], CounterRow>;
  readonly #resources: Database.Statement<[string], string>;
  readonly #task: Database.Statement<
    [string],
    { user: string | null; last_seen_ms: number; ended_at_ms: number | null }
  >;
  readonly #recordTask: Database.Statement<[string, string | null, string, number, number]>;
  readonly #seen: (seen: ReadonlyMap<string, number>) => void;
  readonly #endIdle: (idleBeforeMs: number, nowMs: number) => EndedTask[];
  readonly #since: Database.Statement<[number], TaskStateRow>;

  private constructor(db: Database.Database, spend: Database.Database, walSync: WalSync) {
    this.#db = db;
    this.#spend = spend;
    this.#walSync = walSync;
    this.#counter = db.prepare(COUNTER_SQL);
    this.#resources = db.prepare<[string], string>('SELECT resource FROM limit_task_resources WHERE txn = ?').pluck();
    this.#task = db.prepare('SELECT user, last_seen_ms, ended_at_ms FROM limit_tasks WHERE txn = ?');
    this.#recordTask = db.prepare(
      'INSERT OR IGNORE INTO limit_tasks (txn, user, agent, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?)',
    );
    // On the spending connection, without an fsync: a last use a power loss takes back can only make a
    // task end early (refused), never let it spend more.
    const seen = spend.prepare('UPDATE limit_tasks SET last_seen_ms = ? WHERE txn = ? AND last_seen_ms < ?');
    this.#seen = spend.transaction((tasks: ReadonlyMap<string, number>) => {
      for (const [txn, atMs] of tasks) seen.run(atMs, txn, atMs);
    });
    const idle = 'SELECT txn FROM limit_tasks WHERE ended_at_ms IS NULL AND last_seen_ms < ?';
    const dropCounters = db.prepare(`DELETE FROM limit_counters WHERE scope = 'task' AND key IN (${idle})`);
    const dropResources = db.prepare(`DELETE FROM limit_task_resources WHERE txn IN (${idle})`);
    // RETURNING the rows this transaction ended: with every process running the clean-up, each task's
    // ending is reported by exactly one of them (the others find it ended already).
    const end = db.prepare<[number, number], { txn: string; user: string | null; agent: string; last_seen_ms: number }>(
      'UPDATE limit_tasks SET ended_at_ms = ? WHERE ended_at_ms IS NULL AND last_seen_ms < ? RETURNING txn, user, agent, last_seen_ms',
    );
    this.#endIdle = db.transaction((idleBeforeMs: number, nowMs: number): EndedTask[] => {
      dropCounters.run(idleBeforeMs);
      dropResources.run(idleBeforeMs);
      return end
        .all(nowMs, idleBeforeMs)
        .map((r) => ({ txn: r.txn, user: r.user, agent: r.agent, lastUsedMs: r.last_seen_ms }));
    });
    this.#since = db.prepare('SELECT * FROM task_states WHERE id > ? ORDER BY id');
    // The same read inside the spending transaction, on its own connection.
    const spendingCounter = spend.prepare<[CounterScope, string, CounterName], CounterRow>(COUNTER_SQL);
    const upsert = spend.prepare(
      `INSERT INTO limit_counters (scope, key, name, window_start_ms, value, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope, key, name) DO UPDATE SET window_start_ms = excluded.window_start_ms,
         value = excluded.value, updated_at_ms = excluded.updated_at_ms`,
    );
    // IMMEDIATE: the write lock is taken before the read, so two processes cannot both read the same
    // value and both add to it.
    this.#reserve = spend.transaction((scope, key, name, windowStartMs, need, want, max, nowMs) => {
      const row = spendingCounter.get(scope, key, name);
      // A row from an older window counts as zero; one from a newer window (another process's clock
      // is ahead) is kept: the larger window wins, so the clocks disagreeing never resets a count.
      const window = Math.max(windowStartMs, row?.window_start_ms ?? 0);
      const value = row !== undefined && row.window_start_ms === window ? counted(name, row.value) : 0;
      if (value + need > max) return { granted: 0, value };
      const granted = Math.min(want, max - value);
      upsert.run(scope, key, name, window, stored(name, value + granted), nowMs);
      return { granted, value: value + granted };
    }).immediate;
    const hasResource = spend.prepare('SELECT 1 FROM limit_task_resources WHERE txn = ? AND resource = ?').pluck();
    const countResources = spend.prepare('SELECT count(*) FROM limit_task_resources WHERE txn = ?').pluck();
    const insertResource = spend.prepare('INSERT INTO limit_task_resources (txn, resource) VALUES (?, ?)');
    this.#addResource = spend.transaction((txn: string, resource: string, max: number) => {
      const count = countResources.get(txn) as number;
      if (hasResource.get(txn, resource) !== undefined) return { outcome: 'known' as const, count };
      if (count + 1 > max) return { outcome: 'refused' as const, count };
      insertResource.run(txn, resource);
      return { outcome: 'added' as const, count: count + 1 };
    }).immediate;
    const insertChange = db.prepare(
      'INSERT INTO task_states (txn, state, at_ms, by, via, reason, limit_name, user) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const clearCounters = db.prepare("DELETE FROM limit_counters WHERE scope = 'task' AND key = ?");
    const clearResources = db.prepare('DELETE FROM limit_task_resources WHERE txn = ?');
    this.#change = db.transaction((c: Omit<TaskStateChange, 'id'>) => {
      // A resumed task starts over with a fresh budget: the person resuming it has looked at it.
      if (c.state === 'resumed') {
        clearCounters.run(c.txn);
        clearResources.run(c.txn);
      }
      const { lastInsertRowid } = insertChange.run(c.txn, c.state, c.atMs, c.by, c.via, c.reason, c.limit, c.user);
      return Number(lastInsertRowid);
    }).immediate;
  }

  /**
   * Opens (creating if needed) the database, its folder and the limit tables. Throws if it cannot.
   *
   * Nothing gives a budget back, not even a power loss: a suspension is committed at FULL (see
   * openStateDb) before it is answered, and a call is forwarded only once what it spent (a reservation,
   * a new resource) is on disk — but that is not waited for on the event loop. Spending commits at
   * NORMAL on a connection of its own, and the state database's WAL is fsynced on libuv's pool
   * (wal-sync.ts, `afterCommit`): `synced` tells a call when. Committed and fsynced inside
   * each reservation, as before, under traffic from many users (each user's and task's counters
   * reserving their first counts) one call in ≈ 19 stopped the event loop for an fsync.
   */
  static open(file: string, options: LimitStoreOptions = {}): LimitStore {
    return openStateDb(
      file,
      schemaSql,
      (db) => {
        migrateTasks(db);
        const spend = openStateDb(file, '', (connection) => connection, options);
        let walSync: WalSync | undefined;
        try {
          spend.pragma('synchronous = NORMAL');
          walSync = (options.openWalSync ?? WalSync.open)(file);
          return new LimitStore(db, spend, walSync);
        } catch (e) {
          walSync?.close();
          spend.close();
          throw e;
        }
      },
      options,
    );
  }

  /**
   * Undefined when spending commit `commit` (a `Reservation`'s or `ResourceCount`'s) is on disk;
   * otherwise settles once it is. Rejects with MANDATE_LIMITS_UNAVAILABLE when an fsync failed.
   */
  synced(commit: number): Promise<void> | undefined {
    if (this.#syncFailed) return Promise.reject(this.#syncFailed);
    if (commit <= this.#synced) return undefined;
    // fsyncs finish in commit order: the newest pending one covers `commit` too.
    return this.#syncing.get(commit) ?? this.#syncing.get(this.#commits);
  }

  /** Runs one spending transaction, then starts making it durable. */
  #spent<T>(transaction: () => T): T & { commit: number } {
    if (this.#syncFailed) throw this.#syncFailed;
    const result = this.#guard(transaction);
    const commit = ++this.#commits;
    const durable = new Promise<void>((resolve, reject) => {
      this.#walSync.afterCommit((error) => {
        this.#syncing.delete(commit);
        if (error) {
          this.#syncFailed ??= new MandateError('MANDATE_LIMITS_UNAVAILABLE', SYNC_FAILED, { cause: error });
          reject(this.#syncFailed);
          return;
        }
        this.#synced = Math.max(this.#synced, commit);
        resolve();
      });
    });
    // The calls waiting on it see a failure; with none waiting it is no unhandled rejection.
    durable.catch(() => {});
    if (!this.#syncFailed && commit > this.#synced) this.#syncing.set(commit, durable);
    return { ...result, commit };
  }

  /**
   * Adds between `need` and `want` to a counter (as much as fits under `max`; an amount's in units,
   * see amount.ts) in one transaction, or
   * nothing when even `need` does not fit. Windowed counters restart at zero in a new window;
   * `windowStartMs` 0 is a counter over the task's life.
   */
  reserve(
    scope: CounterScope,
    key: string,
    name: CounterName,
    windowStartMs: number,
    need: number,
    want: number,
    max: number,
    nowMs: number,
  ): Reservation {
    return this.#spent(() => this.#reserve(scope, key, name, windowStartMs, need, want, max, nowMs));
  }

  /** A counter's stored value in `windowStartMs` (0 when it has none there). */
  counter(scope: CounterScope, key: string, name: CounterName, windowStartMs: number): number {
    const row = this.#guard(() => this.#counter.get(scope, key, name));
    return row !== undefined && row.window_start_ms >= windowStartMs ? counted(name, row.value) : 0;
  }

  /**
   * Records that a task touched a resource, unless that makes more than `max` different ones; `count`
   * is how many different ones it has touched afterwards (every process's).
   */
  addResource(txn: string, resource: string, max: number): ResourceCount {
    return this.#spent(() => this.#addResource(txn, resource, max));
  }

  resources(txn: string): string[] {
    return this.#guard(() => this.#resources.all(txn));
  }

  /**
   * Claims `txn` for `user` (null: a background agent's task) unless it is someone's already; returns
   * whose it is now, and whether it ended (`endIdleTasks`). The token service claims at issuance, so a
   * task id is never shared across users.
   */
  claimTask(txn: string, user: string | null, agent: string, nowMs: number): { user: string | null; ended: boolean } {
    if (this.#syncFailed) throw this.#syncFailed;
    return this.#guard(() => {
      this.#recordTask.run(txn, user, agent, nowMs, nowMs);
      const task = this.#task.get(txn)!;
      // Taken up again after a pause: its last use is now, before another process's clean-up looks.
      if (task.ended_at_ms === null && task.last_seen_ms < nowMs - RESEEN_AFTER_MS) {
        this.taskSeen(new Map([[txn, nowMs]]));
      }
      return { user: task.user, ended: task.ended_at_ms !== null };
    });
  }

  /** Records when tasks were last used (txn → ms), in one transaction. */
  taskSeen(tasks: ReadonlyMap<string, number>): void {
    if (tasks.size > 0) this.#seen(tasks);
  }

  /**
   * Ends every task not used since `idleBeforeMs`: its counters and resources are deleted and its txn
   * is kept as ended, so no token naming it is admitted again (a deleted budget must not restart from
   * zero). Returns the tasks this call ended.
   */
  endIdleTasks(idleBeforeMs: number, nowMs: number): EndedTask[] {
    return this.#endIdle(idleBeforeMs, nowMs);
  }

  /** The user first seen with this txn; null for a background agent's task or one never seen. */
  taskUser(txn: string): string | null {
    return this.#guard(() => this.#task.get(txn))?.user ?? null;
  }

  /** Stores a suspension or a resumption (which also clears the task's counters); returns its row id. */
  recordChange(change: Omit<TaskStateChange, 'id'>): number {
    return this.#change(change);
  }

  /** Suspensions and resumptions with an id above `id`, oldest first. */
  changesSince(id: number): TaskStateChange[] {
    return this.#since.all(id).map((r) => ({
      id: r.id,
      txn: r.txn,
      state: r.state,
      atMs: r.at_ms,
      by: r.by,
      via: r.via,
      reason: r.reason,
      limit: r.limit_name,
      user: r.user,
    }));
  }

  /** Changes when another connection commits to the file (SQLite `PRAGMA data_version`). */
  dataVersion(): number {
    return this.#db.pragma('data_version', { simple: true }) as number;
  }

  /**
   * Runs a read or write of the request path, turning a storage failure (an I/O error, a full disk,
   * the file locked past the busy timeout) into MANDATE_LIMITS_UNAVAILABLE (503): a call that cannot
   * be counted is refused, as the catalogue says, not failed as an internal error. Anything else (a
   * bug) goes on as it is. An I/O error is
   * more: the FULL connection's own fsync, or a write, failed, and what it covered may be lost (Linux
   * may report the next fsync as a success), so nothing is spent until a restart, as after a failed
   * fsync of the spending connection's WAL.
   */
  #guard<T>(run: () => T): T {
    try {
      return run();
    } catch (e) {
      if (!isStorageUnavailable(e)) throw e;
      if (isIoError(e)) {
        this.#syncFailed ??= new MandateError('MANDATE_LIMITS_UNAVAILABLE', SYNC_FAILED, { cause: e });
        throw this.#syncFailed;
      }
      throw new MandateError('MANDATE_LIMITS_UNAVAILABLE', 'the state database cannot take the write now', {
        cause: e,
      });
    }
  }

  close(): void {
    try {
      this.#walSync.close();
    } catch (e) {
      // After a failed fsync the closing one fails too; that failure was answered on every call since.
      if (!this.#syncFailed) throw e;
    } finally {
      this.#spend.close();
      this.#db.close();
    }
  }
}

const SYNC_FAILED = 'the state database could not be synced; no budget is spent until the gateway restarts';

export interface Reservation {
  /** How much was added: 0 when `need` did not fit. */
  readonly granted: number;
  /** The counter's value afterwards (all processes' reservations). */
  readonly value: number;
  /** Its spending commit: the call it pays for goes on once `synced(commit)` says it is on disk. */
  readonly commit: number;
}

export interface ResourceCount {
  readonly outcome: 'added' | 'known' | 'refused';
  readonly count: number;
  /** As `Reservation.commit` (for `known` and `refused`, a commit that wrote nothing). */
  readonly commit: number;
}

interface CounterRow {
  window_start_ms: number;
  value: number;
}

interface TaskStateRow {
  id: number;
  txn: string;
  state: 'suspended' | 'resumed';
  at_ms: number;
  by: string;
  via: TaskStateChange['via'];
  reason: string;
  limit_name: LimitName | null;
  user: string | null;
}

const COUNTER_SQL = 'SELECT window_start_ms, value FROM limit_counters WHERE scope = ? AND key = ? AND name = ?';

/** A task loaded again records its use when its last recorded one is older than this (hourly touches do the rest). */
const RESEEN_AFTER_MS = 3600_000;

/**
 * `limit_tasks` as older gateways created it lacks when a task was last used and when it ended: added,
 * a task's last use counting from its first sight until a gateway records a later one.
 */
function migrateTasks(db: Database.Database): void {
  // Under the write lock, so two gateways starting on one old file do not both add the columns.
  db.transaction(() => {
    const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('limit_tasks');
    if (!columns.includes('last_seen_ms')) {
      db.exec('ALTER TABLE limit_tasks ADD COLUMN last_seen_ms INTEGER');
      db.exec('UPDATE limit_tasks SET last_seen_ms = first_seen_ms');
    }
    if (!columns.includes('ended_at_ms')) db.exec('ALTER TABLE limit_tasks ADD COLUMN ended_at_ms INTEGER');
    // The tasks a clean-up looks at: those not ended, by last use.
    db.exec('CREATE INDEX IF NOT EXISTS limit_tasks_open ON limit_tasks (last_seen_ms) WHERE ended_at_ms IS NULL');
  }).immediate();
}

// Counts are whole numbers: calls, and amounts in units (amount.ts). The table keeps the amount itself,
// as an operator reading it expects; rounding the stored double back to units is exact (and absorbs the
// drift of sums older gateways made in floating point).
const counted = (name: CounterName, value: number): number =>
  name === 'amount' ? Math.round(value * UNITS_PER_AMOUNT) : value;
const stored = (name: CounterName, count: number): number => (name === 'amount' ? fromUnits(count) : count);

// STRICT and CHECK: a row the gateway could not interpret is refused at insert, not skipped at load.
const schemaSql = `
CREATE TABLE IF NOT EXISTS limit_counters (
  scope TEXT NOT NULL CHECK (scope IN ('task', 'agent', 'user')),
  key TEXT NOT NULL,
  name TEXT NOT NULL CHECK (name IN ('requests', 'writes', 'amount')),
  window_start_ms INTEGER NOT NULL,
  value REAL NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (scope, key, name)
) STRICT;
CREATE TABLE IF NOT EXISTS limit_task_resources (
  txn TEXT NOT NULL,
  resource TEXT NOT NULL,
  PRIMARY KEY (txn, resource)
) STRICT;
CREATE TABLE IF NOT EXISTS limit_tasks (
  txn TEXT PRIMARY KEY,
  user TEXT,
  agent TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER,
  ended_at_ms INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS task_states (
  id INTEGER PRIMARY KEY,
  txn TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('suspended', 'resumed')),
  at_ms INTEGER NOT NULL,
  by TEXT NOT NULL,
  via TEXT NOT NULL CHECK (via IN ('limit', 'admin_api', 'user', 'cli')),
  reason TEXT NOT NULL,
  limit_name TEXT,
  user TEXT
) STRICT;
`;
