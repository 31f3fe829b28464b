import { log } from '../telemetry/log.ts';
import type { LimitStore } from './limit-store.ts';
import type { TaskStateChange } from './limit-types.ts';

/** A suspension or resumption as requested: what the stored change needs besides its id and time. */
export type TaskStateRequest = Omit<TaskStateChange, 'id' | 'atMs'>;

/**
 * Which tasks are suspended: persisted in the state database (`task_states`), answered from memory on
 * every request. Loaded whole at start, so a suspension survives a restart; one made here is in force
 * before `change` returns, one made by another process (`mandate task suspend`, another gateway on the
 * same file) within `pollMs`, by watching SQLite's `data_version` as revocations do.
 */
export class TaskSuspensions {
  readonly #store: LimitStore;
  readonly #now: () => number;
  readonly #suspended = new Map<string, TaskStateChange>();
  /** Told when a task is resumed (here or elsewhere): its counters start over. */
  readonly #onResumed: (txn: string) => void;
  /** Long-lived holders of a task's token (open WebSocket tunnels), told when the task is suspended. */
  readonly #watchers = new Map<string, Set<() => void>>();
  #seenVersion = -1;
  /**
   * Highest row id read from the file. Own rows are read back too and applied again, in order with
   * other processes' rows, so the state in memory ends as the file's last row says.
   */
  #seenId = 0;
  /**
   * Own resumptions' row ids, not read back yet: their counters were reset when they were made. Read
   * back (which happens whenever another connection committed, limit spending included), the
   * resumption is applied again but must not reset the counters again, which would throw away counts
   * reserved since.
   */
  readonly #resetAlready = new Set<number>();

  constructor(store: LimitStore, options: { now: () => number; onResumed: (txn: string) => void }) {
    this.#store = store;
    this.#now = options.now;
    this.#onResumed = options.onResumed;
    this.refresh();
  }

  /** Memory only: this runs on every proxied request and at the token endpoint. */
  isSuspended(txn: string | null | undefined): boolean {
    return txn !== undefined && txn !== null && this.#suspended.has(txn);
  }

  /**
   * Calls `onSuspended` once, when the task is suspended — at once if it already is. A suspension made
   * here reaches it before `change` returns; one made by another process, at the next `refresh`.
   * Returns the function that stops watching.
   */
  watch(txn: string, onSuspended: () => void): () => void {
    if (this.#suspended.has(txn)) {
      onSuspended();
      return () => {};
    }
    const watchers = this.#watchers.get(txn) ?? new Set<() => void>();
    this.#watchers.set(txn, watchers.add(onSuspended));
    return () => {
      watchers.delete(onSuspended);
      if (watchers.size === 0 && this.#watchers.get(txn) === watchers) this.#watchers.delete(txn);
    };
  }

  /** The suspension in force for a task, if any. */
  suspension(txn: string): TaskStateChange | undefined {
    return this.#suspended.get(txn);
  }

  /**
   * Suspends or resumes now. Memory first, so it is in force in this process even if the database then
   * refuses it (`persisted` false, `id` 0: the caller reports it, to be retried). `changed` is false
   * when the task already was in that state: nothing is stored or to be audited.
   */
  change(request: TaskStateRequest): { change: TaskStateChange; changed: boolean; persisted: boolean } {
    const current = this.#suspended.get(request.txn);
    const wanted = request.state === 'suspended';
    if ((current !== undefined) === wanted) {
      return { change: current ?? { ...request, id: 0, atMs: this.#now() }, changed: false, persisted: true };
    }
    const change: TaskStateChange = { ...request, id: 0, atMs: this.#now() };
    this.#apply(change);
    try {
      const id = this.#store.recordChange(change);
      if (!wanted) this.#resetAlready.add(id);
      const stored = { ...change, id };
      if (wanted) this.#suspended.set(change.txn, stored);
      return { change: stored, changed: true, persisted: true };
    } catch (err) {
      log.error(
        { err, txn: change.txn },
        'task state not stored in the state database; in effect in this process only',
      );
      return { change, changed: true, persisted: false };
    }
  }

  /** Reads what other processes have stored since the last read. Throws when the database cannot be read. */
  refresh(): void {
    const version = this.#store.dataVersion();
    if (version === this.#seenVersion) return;
    for (const change of this.#store.changesSince(this.#seenId)) {
      this.#seenId = change.id;
      this.#apply(change, !this.#resetAlready.delete(change.id));
    }
    this.#seenVersion = version;
  }

  #apply(change: TaskStateChange, resetCounters = true): void {
    if (change.state === 'suspended') {
      this.#suspended.set(change.txn, change);
      this.#notify(change.txn);
    } else {
      this.#suspended.delete(change.txn);
      if (resetCounters) this.#onResumed(change.txn);
    }
  }

  #notify(txn: string): void {
    const watchers = this.#watchers.get(txn);
    if (watchers === undefined) return;
    this.#watchers.delete(txn);
    for (const onSuspended of watchers) {
      try {
        onSuspended();
      } catch (err) {
        log.error({ err, txn }, 'task suspension watcher failed');
      }
    }
  }
}
