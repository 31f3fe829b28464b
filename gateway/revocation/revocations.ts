import { log } from '../telemetry/log.ts';
import type { Revocation, RevocationRequest, RevocationSubject } from './revocation.ts';
import { RevocationIndex } from './revocation-index.ts';
import { RevocationStore } from './revocation-store.ts';

export interface RevocationsOptions {
  /** Wall clock in ms; tests inject one. */
  readonly now?: () => number;
  /** How often the state database is checked for other processes' revocations. Default 1000 ms. */
  readonly pollMs?: number;
  /**
   * How long a revocation waits for another writer's lock before it is reported as not persisted.
   * The wait blocks the event loop (better-sqlite3 is synchronous), so it is short: default 500 ms;
   * other writers (`mandate revoke`) hold the lock for one small insert.
   */
  readonly busyTimeoutMs?: number;
}

/**
 * The gateway's revocations: persisted in the state database, answered from memory. Loaded whole at
 * start; a revocation made here (admin API) is in the index before `revoke` returns; one made by
 * another process (`mandate revoke`, another gateway on the same file) is picked up within `pollMs`
 * by watching SQLite's `data_version`, which changes only when another connection commits.
 */
export class Revocations {
  readonly #store: RevocationStore;
  readonly #index = new RevocationIndex();
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #seenVersion = -1;
  /** Highest row id read from the file. Own inserts do not advance it, so another process's row with a lower id is never skipped. */
  #seenId = 0;
  #pollFailing = false;

  private constructor(store: RevocationStore, options: RevocationsOptions) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
    this.refresh();
    this.#timer = setInterval(() => this.#poll(), options.pollMs ?? 1000);
    this.#timer.unref();
  }

  /** Opens the state database and loads every revocation; throws (the gateway does not start) if it cannot. */
  static open(file: string, options: RevocationsOptions = {}): Revocations {
    const store = RevocationStore.open(file, { busyTimeoutMs: options.busyTimeoutMs ?? 500 });
    return new Revocations(store, options);
  }

  /** Whether a token with these facts is revoked. Memory only: this runs on every proxied request. */
  isRevoked(subject: RevocationSubject): boolean {
    return this.#index.isRevoked(subject);
  }

  /**
   * Revokes now. The index is updated first, so the revocation is in effect in this process even if
   * the database then refuses it: `persisted` is then false (and `id` 0), and the caller reports it so
   * the revocation is retried — a repeated revocation is harmless.
   */
  revoke(request: RevocationRequest, revokedBy: string): { revocation: Revocation; persisted: boolean } {
    const revocation = { ...request, id: 0, revokedAtMs: this.#now(), revokedBy };
    this.#index.add(revocation);
    try {
      return { revocation: this.#store.insert(request, revokedBy, revocation.revokedAtMs), persisted: true };
    } catch (err) {
      log.error({ err }, 'revocation not stored in the state database; in effect in this process only');
      return { revocation, persisted: false };
    }
  }

  /** Stored revocations, newest first. */
  list(limit: number): Revocation[] {
    return this.#store.newestFirst(limit);
  }

  /** Reads revocations other processes have stored since the last read. */
  refresh(): void {
    const version = this.#store.dataVersion();
    if (version === this.#seenVersion) return;
    for (const revocation of this.#store.since(this.#seenId)) {
      this.#index.add(revocation);
      this.#seenId = revocation.id;
    }
    this.#seenVersion = version;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#store.close();
  }

  #poll(): void {
    try {
      this.refresh();
      if (this.#pollFailing) log.info('state database readable again; revocations up to date');
      this.#pollFailing = false;
    } catch (err) {
      // Revocations already loaded stay in force; only other processes' new ones are delayed.
      if (!this.#pollFailing) log.error({ err }, 'cannot read revocations from the state database');
      this.#pollFailing = true;
    }
  }
}
