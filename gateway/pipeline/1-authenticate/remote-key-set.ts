import { channel } from 'node:diagnostics_channel';
import type { CryptoKey, FlattenedJWSInput, JWSHeaderParameters, LocalJWKSet } from 'jose';
import { MandateError } from '../../errors.ts';
import { fetchJwks } from './fetch-jwks.ts';
import { toLocalKeySet } from './jwks-document.ts';
import type { KeySet } from './key-set.ts';

/** Published on `mandate:authn:jwks` after every fetch of a remote key set, successful or not. */
export interface JwksFetchEvent {
  readonly issuer: string;
  readonly url: string;
  readonly outcome: 'loaded' | 'failed';
  /** Usable keys now held (after `loaded`). */
  readonly keys?: number;
  /** Why the fetch failed; the last good key set stays in use. */
  readonly reason?: string;
}

export const jwksChannel = channel('mandate:authn:jwks');

/**
 * Minimum time between two fetches triggered by requests (unknown `kid`, or no key set yet), so a
 * flood of tokens with made-up kids cannot hammer the key server. Background refresh ignores it.
 */
const ON_DEMAND_REFRESH_COOLDOWN_MS = 30_000;

export interface RemoteKeySetOptions {
  readonly issuer: string;
  readonly url: string;
  readonly refreshSeconds: number;
  readonly timeoutMs: number;
  /** Milliseconds since the epoch (injected in tests). */
  readonly now: () => number;
  /** Called when a refresh drops a key that was in use: principals verified with it must go. */
  readonly onKeysRemoved: () => void;
}

/**
 * A key set fetched from the issuer's `jwks_uri` (`jwks: {url}`). The last good key set is kept for as
 * long as the key server is down or serves garbage; only an issuer whose keys were never loaded fails,
 * with MANDATE_AUTHN_KEYS_UNAVAILABLE (fail closed, never "skip verification").
 */
export class RemoteKeySet implements KeySet {
  readonly #options: RemoteKeySetOptions;
  #current: LocalJWKSet | undefined;
  #currentKeys = new Set<string>();
  #inflight: Promise<void> | undefined;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;

  private constructor(options: RemoteKeySetOptions) {
    this.#options = options;
  }

  /**
   * Attempts the first fetch (bounded by `timeoutMs`, so start-up never hangs on a dead key server)
   * and starts the background refresh. A failed first fetch is not fatal: requests for this issuer get
   * 503 until a later fetch succeeds.
   */
  static async start(options: RemoteKeySetOptions): Promise<RemoteKeySet> {
    const set = new RemoteKeySet(options);
    await set.#refresh();
    set.#timer = setInterval(() => void set.#refresh(), options.refreshSeconds * 1000).unref();
    return set;
  }

  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    if (!this.#current) await this.#refreshOnDemand();
    const current = this.#current;
    if (!current) throw new MandateError('MANDATE_AUTHN_KEYS_UNAVAILABLE', 'no key set loaded for this issuer yet');
    try {
      return await current(header, token);
    } catch (error) {
      // An unknown kid usually means the issuer rotated keys since the last refresh.
      if ((error as { code?: unknown }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
      await this.#refreshOnDemand();
      const refreshed = this.#current;
      if (!refreshed || refreshed === current) throw error;
      return refreshed(header, token);
    }
  };

  close(): void {
    clearInterval(this.#timer);
  }

  #refreshOnDemand(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    if (this.#options.now() - this.#lastAttempt < ON_DEMAND_REFRESH_COOLDOWN_MS) return Promise.resolve();
    return this.#refresh();
  }

  /** One fetch at a time; concurrent callers share it. Never rejects. */
  #refresh(): Promise<void> {
    this.#inflight ??= this.#fetchAndApply().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetchAndApply(): Promise<void> {
    const { issuer, url, timeoutMs, now, onKeysRemoved } = this.#options;
    this.#lastAttempt = now();
    let next: LocalJWKSet;
    try {
      next = toLocalKeySet(await fetchJwks(url, timeoutMs));
    } catch (error) {
      publish({ issuer, url, outcome: 'failed', reason: (error as Error).message ?? String(error) });
      return;
    }
    const nextKeys = new Set(next.jwks().keys.map((key) => JSON.stringify(key)));
    const removed = [...this.#currentKeys].some((key) => !nextKeys.has(key));
    this.#current = next;
    this.#currentKeys = nextKeys;
    if (removed) onKeysRemoved();
    publish({ issuer, url, outcome: 'loaded', keys: nextKeys.size });
  }
}

function publish(event: JwksFetchEvent): void {
  if (jwksChannel.hasSubscribers) jwksChannel.publish(event);
}
