import { log } from '../telemetry/log.ts';
import {
  jtiRevocationExpiry,
  type Revocation,
  type RevocationRequest,
  type RevocationSubject,
  type TokenLimits,
} from './revocation.ts';
import { RevocationIndex } from './revocation-index.ts';
import { RevocationStore } from './revocation-store.ts';

interface Watcher {
  readonly subject: RevocationSubject;
  readonly onRevoked: () => void;
}

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
  /** Bounds a jti revocation given without the token's exp (routes.yaml `gateway.tokens`). Default 3600 s + 30 s. */
  readonly tokenLimits?: TokenLimits;
  /** How often expired jti revocations are pruned from memory and the state database. Default 60 s. */
  readonly pruneEveryMs?: number;
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
  readonly #limits: TokenLimits;
  readonly #pruneEveryMs: number;
  #lastPruneMs = Number.NEGATIVE_INFINITY;
  #seenVersion = -1;
  /** Highest row id read from the file. Own inserts do not advance it, so another process's row with a lower id is never skipped. */
  #seenId = 0;
  #pollFailing = false;
  /** Long-lived holders of a token (open WebSocket tunnels), told when a revocation reaches it. */
  readonly #watchers = new Set<Watcher>();

  private constructor(store: RevocationStore, options: RevocationsOptions) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
    this.#limits = options.tokenLimits ?? { max_lifetime_seconds: 3600, clock_skew_seconds: 30 };
    this.#pruneEveryMs = options.pruneEveryMs ?? 60_000;
    this.refresh();
    this.prune();
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
    const revokedAtMs = this.#now();
    const expiresAtMs = jtiRevocationExpiry(request, revokedAtMs, this.#limits);
    const { target, value, reason } = request;
    const revocation = { target, value, reason, id: 0, revokedAtMs, revokedBy, expiresAtMs };
    this.#index.add(revocation);
    this.#notifyWatchers();
    try {
      return { revocation: this.#store.insert(request, revokedBy, revokedAtMs, expiresAtMs), persisted: true };
    } catch (err) {
      log.error({ err }, 'revocation not stored in the state database; in effect in this process only');
      return { revocation, persisted: false };
    }
  }

  /**
   * Calls `onRevoked` once, when a revocation that applies to `subject` is in force — at once if one
   * already is. A revocation made here reaches it before `revoke` returns; one made by another process,
   * within `pollMs`. Returns the function that stops watching.
   */
  watch(subject: RevocationSubject, onRevoked: () => void): () => void {
    const watcher = { subject, onRevoked };
    if (this.#index.isRevoked(subject)) {
      onRevoked();
      return () => {};
    }
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  /** Stored revocations, newest first. */
  list(limit: number): Revocation[] {
    return this.#store.newestFirst(limit);
  }

  /** Reads revocations other processes have stored since the last read. */
  refresh(): void {
    const version = this.#store.dataVersion();
    if (version === this.#seenVersion) return;
    let added = false;
    for (const revocation of this.#store.since(this.#seenId)) {
      this.#index.add(revocation);
      this.#seenId = revocation.id;
      added = true;
    }
    this.#seenVersion = version;
    if (added) this.#notifyWatchers();
  }

  /**
   * Drops jti revocations whose tokens have expired, from memory and from the state database (logged
   * with the count). A database that refuses the delete is tried again at the next prune.
   */
  prune(): void {
    const nowMs = this.#now();
    this.#lastPruneMs = nowMs;
    const fromIndex = this.#index.prune(nowMs);
    let fromStore = 0;
    try {
      fromStore = this.#store.prune(nowMs);
    } catch (err) {
      log.error({ err }, 'cannot prune expired jti revocations from the state database; retried later');
    }
    if (fromIndex + fromStore > 0) {
      log.info({ fromIndex, fromStore }, 'expired jti revocations pruned (their tokens have expired)');
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#store.close();
  }

  #notifyWatchers(): void {
    for (const watcher of this.#watchers) {
      if (!this.#index.isRevoked(watcher.subject)) continue;
      this.#watchers.delete(watcher);
      try {
        watcher.onRevoked();
      } catch (err) {
        log.error({ err }, 'revocation watcher failed');
      }
    }
  }

  #poll(): void {
    try {
      this.refresh();
      if (this.#now() - this.#lastPruneMs >= this.#pruneEveryMs) this.prune();
      if (this.#pollFailing) log.info('state database readable again; revocations up to date');
      this.#pollFailing = false;
    } catch (err) {
      // Revocations already loaded stay in force; only other processes' new ones are delayed.
      if (!this.#pollFailing) log.error({ err }, 'cannot read revocations from the state database');
      this.#pollFailing = true;
    }
  }
}
