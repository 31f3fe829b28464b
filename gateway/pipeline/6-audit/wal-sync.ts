import { close, closeSync, fsync, fsyncSync, openSync } from 'node:fs';

type Synced = (error: Error | undefined) => void;

/**
 * `synchronous=FULL` by hand: the store commits at NORMAL (frames written, not synced) and this
 * fsyncs the -wal file, so a commit is acknowledged only once an fsync that began after it has
 * finished, which is exactly what FULL promises ("the WAL file is synchronized after each
 * transaction commit"). Two ways:
 * - `syncNow`, on the calling thread: the audit writer, right after each commit (writer-thread.ts).
 * - `afterCommit`, on libuv's pool, for a caller that must not block: the limit store on the event
 *   loop, for the state database's budget reservations (limit-store.ts). Commits made during one
 *   fsync share the next.
 *
 * Why not SQLite's own FULL: an fsync that fails leaves the durability of everything written since
 * unknown (after a failed fsync Linux may drop the dirty pages and report success next time), so the
 * caller must stop taking writes; here the failure is the caller's to see, as an fsync error, rather
 * than one of the I/O errors a commit can throw. See writer-thread.ts.
 */
export class WalSync {
  readonly #fd: number;
  /** Acknowledgements of batches committed since the running fsync began, for the next one. */
  #waiting: Synced[] = [];
  /** The running fsync's acknowledgements; undefined when none runs. */
  #running: Synced[] | undefined;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** For the store at `dbFile`, open in WAL mode (so its -wal file exists). */
  static open(dbFile: string): WalSync {
    return new WalSync(openSync(`${dbFile}-wal`, 'r'));
  }

  /** Calls `synced` once everything committed so far is on disk, or with the fsync's error. */
  afterCommit(synced: Synced): void {
    if (this.#closed) {
      synced(new Error('the WAL sync is closed'));
      return;
    }
    this.#waiting.push(synced);
    if (!this.#running) this.#start();
  }

  /**
   * Syncs now, on this thread, and acknowledges every batch not acknowledged yet: before something
   * that must see only durable commits (signing a checkpoint) or that replaces the file (segment
   * rotation), and at close. Throws if the fsync fails, after failing those batches.
   */
  syncNow(): void {
    // The running fsync's batches too: this one starts after their commits as well, so it covers them,
    // and the caller may not wait for the other (a closing writer thread exits before its callback).
    const waiting = [...(this.#running?.splice(0) ?? []), ...this.#waiting];
    this.#waiting = [];
    try {
      fsyncSync(this.#fd);
    } catch (e) {
      for (const synced of waiting) synced(e as Error);
      throw e;
    }
    for (const synced of waiting) synced(undefined);
  }

  /** Syncs what is waiting, then closes the descriptor once no fsync is running. */
  close(): void {
    if (this.#closed) return;
    try {
      this.syncNow();
    } finally {
      this.#closed = true;
      if (!this.#running) closeSync(this.#fd);
    }
  }

  #start(): void {
    const batch = this.#waiting;
    this.#waiting = [];
    this.#running = batch;
    fsync(this.#fd, (error) => {
      this.#running = undefined;
      // Empty when syncNow has acknowledged them meanwhile.
      for (const synced of batch) synced(error ?? undefined);
      if (this.#closed) close(this.#fd, () => {});
      else if (this.#waiting.length > 0) this.#start();
    });
  }
}
