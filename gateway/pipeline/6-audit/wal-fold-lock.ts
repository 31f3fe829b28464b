/**
 * Who may fold the audit WAL into the database file right now: the checkpoint thread
 * (wal-checkpoint-thread.ts) on its timer, or the writer thread sealing a segment (seal.ts), whose
 * switch out of WAL mode fails while any other connection has the file open. Without it a seal that
 * met a checkpoint in progress was postponed by ten seconds, and under load segments grew far past
 * their size. One Int32 in shared memory, so the two threads agree without a message round trip:
 * 0 free, 1 held.
 */
export class WalFoldLock {
  readonly #state: Int32Array;

  private constructor(state: Int32Array) {
    this.#state = state;
  }

  static create(): WalFoldLock {
    return new WalFoldLock(new Int32Array(new SharedArrayBuffer(4)));
  }

  /** The lock another thread created, from `shared`. */
  static from(shared: SharedArrayBuffer): WalFoldLock {
    return new WalFoldLock(new Int32Array(shared));
  }

  /** To hand to another thread (workerData). */
  get shared(): SharedArrayBuffer {
    return this.#state.buffer as SharedArrayBuffer;
  }

  /** Takes the lock if it is free; never waits. */
  tryAcquire(): boolean {
    return Atomics.compareExchange(this.#state, 0, 0, 1) === 0;
  }

  /** Takes the lock, waiting (blocking this thread) up to `timeoutMs` for it; false if it stayed held. */
  acquire(timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    while (!this.tryAcquire()) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.#state, 0, 1, left);
    }
    return true;
  }

  release(): void {
    Atomics.store(this.#state, 0, 0);
    Atomics.notify(this.#state, 0);
  }
}
