import type { Principal } from './principal.ts';

/**
 * Verified principals by token hash: an ES256 verification costs far more than the rest of a request,
 * and agents repeat the same token for its whole (short) life. A bounded LRU built on Map insertion
 * order: a hit is one lookup plus a re-insert. Only successful verifications are stored, so a cached
 * principal has already passed every check that does not depend on time or route; time is rechecked
 * here, the audience by `assertAudience` on every request.
 */
export class TokenCache {
  readonly #entries = new Map<string, Principal>();
  readonly #capacity: number;
  readonly #skewSeconds: number;
  #hits = 0;

  constructor(capacity: number, skewSeconds: number) {
    this.#capacity = capacity;
    this.#skewSeconds = skewSeconds;
  }

  /** The principal for this token hash, unless absent or expired at `nowSeconds` (then evicted). */
  get(tokenHash: string, nowSeconds: number): Principal | undefined {
    const principal = this.#entries.get(tokenHash);
    if (principal === undefined) return undefined;
    this.#entries.delete(tokenHash);
    // Same rule as jose's: expired once exp <= now - leeway. A miss then re-verifies and fails as expired.
    if (principal.expiresAt <= nowSeconds - this.#skewSeconds) return undefined;
    this.#entries.set(tokenHash, principal);
    this.#hits++;
    return principal;
  }

  set(tokenHash: string, principal: Principal): void {
    if (this.#capacity === 0) return;
    this.#entries.delete(tokenHash);
    this.#entries.set(tokenHash, principal);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  /** Drops everything, e.g. when an issuer withdrew a key: its tokens must be verified again. */
  clear(): void {
    this.#entries.clear();
  }

  /** Lookups answered from the cache (for metrics and tests). */
  get hits(): number {
    return this.#hits;
  }

  get size(): number {
    return this.#entries.size;
  }
}
