import type { Revocation, RevocationSubject } from './revocation.ts';

/**
 * Every revocation in memory, shaped for the question asked on every request: Set and Map lookups
 * only, O(1) per token (plus one per actor on its chain), no database read on the hot path.
 */
export class RevocationIndex {
  /** jti → when its revocation may be pruned (ms; null: never). */
  readonly #jtis = new Map<string, number | null>();
  readonly #txns = new Set<string>();
  /** user → the latest revocation's second: tokens with `iat` at or before it are refused. */
  readonly #users = new Map<string, number>();
  /** agent `sub` → the same cut-off, for every token whose chain contains the agent. */
  readonly #agents = new Map<string, number>();
  #size = 0;

  add(revocation: Revocation): void {
    this.#size++;
    // `iat` has whole seconds: a token issued in the same second as the revocation is refused too,
    // since it may have been issued just before it (fail closed; the next second's tokens work).
    const cutoff = Math.floor(revocation.revokedAtMs / 1000);
    switch (revocation.target) {
      case 'jti': {
        // Revoked twice: the later expiry (or never) wins.
        const known = this.#jtis.get(revocation.value);
        const expires = revocation.expiresAtMs;
        const keep =
          known === undefined ? expires : known === null || expires === null ? null : Math.max(known, expires);
        this.#jtis.set(revocation.value, keep);
        break;
      }
      case 'txn':
        this.#txns.add(revocation.value);
        break;
      case 'user':
        this.#users.set(revocation.value, Math.max(cutoff, this.#users.get(revocation.value) ?? cutoff));
        break;
      case 'agent':
        this.#agents.set(revocation.value, Math.max(cutoff, this.#agents.get(revocation.value) ?? cutoff));
        break;
    }
  }

  /**
   * Forgets jti revocations that expired before `nowMs`: their tokens are refused as expired now, and
   * without this a gateway revoking leaked tokens for months would hold every id forever. Returns how many.
   */
  prune(nowMs: number): number {
    let pruned = 0;
    for (const [jti, expires] of this.#jtis) {
      if (expires === null || expires >= nowMs) continue;
      this.#jtis.delete(jti);
      pruned++;
    }
    this.#size -= pruned;
    return pruned;
  }

  isRevoked(subject: RevocationSubject): boolean {
    if (this.#size === 0) return false;
    if (this.#jtis.has(subject.jti)) return true;
    if (subject.txn !== null && this.#txns.has(subject.txn)) return true;
    if (subject.user !== null && issuedBy(this.#users.get(subject.user), subject.issuedAtSeconds)) return true;
    // Any actor, not only the current one: a revoked agent's delegations to sub-agents die with it.
    for (const agent of subject.agents) {
      if (issuedBy(this.#agents.get(agent), subject.issuedAtSeconds)) return true;
    }
    return false;
  }
}

const issuedBy = (cutoff: number | undefined, issuedAt: number): boolean => cutoff !== undefined && issuedAt <= cutoff;
