import type { LimitStore } from './limit-store.ts';
import type { CounterName, CounterScope } from './limit-types.ts';

/**
 * One counter as this process keeps it: counted in memory, paid for in the state database ahead of
 * use. A call is admitted from what this process has already reserved ("leased") when it can be; only
 * when that runs out is more reserved, in one transaction that refuses to pass the maximum — across
 * processes and restarts, since the reservation is committed before the call is forwarded. What a
 * process reserved and did not use (it crashed, or forgot an idle counter) stays counted: a budget can
 * shrink by at most one reservation's extra (see `#ahead`), never grow.
 */
/** The most a counter reserves ahead in one go. */
const MAX_AHEAD = 4096;

export class LeasedCounter {
  readonly #store: LimitStore;
  readonly #scope: CounterScope;
  readonly #key: string;
  readonly #name: CounterName;
  /** Start of the window counted (ms); 0 for a counter over the task's life. */
  #window: number;
  /** Admitted by this process in the window. */
  #used = 0;
  /** Reserved in the database by this process in the window; never less than `#used`. */
  #leased = 0;
  /** The database's value at the last read or reservation: every process's reservations. */
  #stored: number;
  /** Reservations made in the window: each one ahead reserves twice the extra of the one before. */
  #reservations = 0;
  /** The store's spending commit of the newest reservation: what is taken is durable once it is. */
  #leaseCommit = 0;

  constructor(store: LimitStore, scope: CounterScope, key: string, name: CounterName, windowStartMs: number) {
    this.#store = store;
    this.#scope = scope;
    this.#key = key;
    this.#name = name;
    this.#window = windowStartMs;
    this.#stored = store.counter(scope, key, name, windowStartMs);
  }

  /** The count so far in the window starting at `windowStartMs`, as far as this process knows. */
  count(windowStartMs: number): number {
    return windowStartMs > this.#window ? 0 : this.#stored - (this.#leased - this.#used);
  }

  /**
   * Counts `n` if that keeps the counter at or under `max`, reserving `n` plus up to `extra` ahead in
   * the database when what is reserved does not cover it. Returns false, counting nothing, otherwise.
   */
  take(n: number, max: number, extra: number, windowStartMs: number, nowMs: number): boolean {
    if (windowStartMs > this.#window) {
      this.#window = windowStartMs;
      this.#used = 0;
      this.#leased = 0;
      this.#stored = 0;
      this.#reservations = 0;
    }
    if (this.#used + n <= this.#leased) {
      this.#used += n;
      return true;
    }
    const need = this.#used + n - this.#leased;
    const reserved = this.#store.reserve(
      this.#scope,
      this.#key,
      this.#name,
      this.#window,
      need,
      need + this.#ahead(extra, max - this.#stored - need),
      max,
      nowMs,
    );
    this.#reservations++;
    this.#leaseCommit = reserved.commit;
    this.#stored = reserved.value;
    if (reserved.granted === 0) return false;
    this.#leased += reserved.granted;
    this.#used += n;
    return true;
  }

  /**
   * How much to reserve ahead of `need`: `extra` at first, doubling with each reservation in the window,
   * so a busy counter commits (and fsyncs) rarely — but never more than MAX_AHEAD, nor more than an
   * eighth of what the budget has left, so what a crash can cost stays small next to what remains.
   * `extra` 0 means exact accounting, and stays so.
   */
  #ahead(extra: number, remaining: number): number {
    const grown = extra * 2 ** Math.min(this.#reservations, 16);
    return Math.max(0, Math.min(grown, MAX_AHEAD, Math.floor(remaining / 8)));
  }

  /**
   * The spending commit that paid for what `take` last counted: the call goes upstream once the
   * store has synced it (`LimitStore.synced`). A count taken from a lease reserved by an earlier call
   * waits for that reservation's sync too, if it is still running.
   */
  get leaseCommit(): number {
    return this.#leaseCommit;
  }

  /** Gives back `n` taken for a call that was then refused for another limit (it stays reserved here). */
  giveBack(n: number): void {
    this.#used -= n;
  }
}
