import { hash } from 'node:crypto';
import type { Config } from '../../config/load.ts';
import type { IssuerConfig } from '../../config/schema.ts';
import { type CredentialSource, extractBearer } from './bearer.ts';
import { loadFileKeySet } from './file-key-set.ts';
import type { KeySet } from './key-set.ts';
import type { Principal } from './principal.ts';
import { RemoteKeySet } from './remote-key-set.ts';
import { TokenCache } from './token-cache.ts';
import { type TrustedIssuer, type Verifier, verifyToken } from './verify-token.ts';

export interface AuthenticatorOptions {
  /** Clock in milliseconds since the epoch; defaults to `Date.now`. Tests inject one. */
  readonly now?: () => number;
  /**
   * Mandate's own token service as an issuer (no `issuers:` entry needed), its keys in-process:
   * tokens it issued verify without an HTTP round trip to itself.
   */
  readonly ownIssuer?: TrustedIssuer | undefined;
}

/**
 * Stage 1: who is calling, on whose behalf. Turns the request's one bearer token into a verified
 * Principal, or throws a MandateError. Everything about the token is checked except `aud`
 * membership, which needs the resolved route (`assertAudience`).
 */
export class Authenticator {
  readonly #verifier: Verifier;
  readonly #cache: TokenCache;
  readonly #maxBytes: number;

  private constructor(verifier: Verifier, cache: TokenCache, maxBytes: number) {
    this.#verifier = verifier;
    this.#cache = cache;
    this.#maxBytes = maxBytes;
  }

  /**
   * Loads every issuer's keys: JWKS files are read (an unusable one fails start-up); URL key sets get
   * a first fetch bounded by their `timeout_ms`, and an issuer whose key server is down starts without
   * keys (its tokens get 503 MANDATE_AUTHN_KEYS_UNAVAILABLE until a fetch succeeds).
   */
  static async create(config: Config, options: AuthenticatorOptions = {}): Promise<Authenticator> {
    const now = options.now ?? Date.now;
    const tokens = config.gateway.tokens;
    const cache = new TokenCache(tokens.cache_entries, tokens.clock_skew_seconds);
    const loaded = await Promise.allSettled(config.issuers.map((issuer) => loadKeySet(issuer, now, cache)));
    const failure = loaded.find((result) => result.status === 'rejected');
    if (failure) {
      for (const result of loaded) if (result.status === 'fulfilled') result.value.close();
      throw failure.reason;
    }
    const issuers = new Map<string, TrustedIssuer>();
    config.issuers.forEach((issuer, i) => {
      issuers.set(issuer.issuer, { config: issuer, keys: (loaded[i] as PromiseFulfilledResult<KeySet>).value });
    });
    if (options.ownIssuer) issuers.set(options.ownIssuer.config.issuer, options.ownIssuer);
    const algorithms = new Set<string>([...issuers.values()].flatMap((issuer) => issuer.config.algorithms));
    return new Authenticator({ issuers, algorithms, limits: tokens, now }, cache, tokens.max_bytes);
  }

  /**
   * Exactly one bearer credential → size cap → verified-token cache → full verification (GW-JWT
   * order). The cache sits after the size cap so hashing is bounded; it holds only tokens that passed
   * every check, so a hit skips nothing a miss would have refused except the (rechecked) expiry.
   */
  async authenticate(request: CredentialSource): Promise<Principal> {
    const token = extractBearer(request, this.#maxBytes);
    const tokenHash = hash('sha256', token, 'hex');
    const cached = this.#cache.get(tokenHash, Math.floor(this.#verifier.now() / 1000));
    if (cached) return cached;
    const principal = await verifyToken(token, tokenHash, this.#verifier);
    this.#cache.set(tokenHash, principal);
    return principal;
  }

  /** Verifications answered from the cache so far. */
  get cacheHits(): number {
    return this.#cache.hits;
  }

  /** Stops the background key refresh timers. */
  close(): void {
    for (const issuer of this.#verifier.issuers.values()) issuer.keys.close();
  }
}

function loadKeySet(issuer: IssuerConfig, now: () => number, cache: TokenCache): Promise<KeySet> {
  const { jwks } = issuer;
  if ('file' in jwks) return loadFileKeySet(issuer.issuer, jwks.file);
  return RemoteKeySet.start({
    issuer: issuer.issuer,
    url: jwks.url,
    refreshSeconds: jwks.refresh_seconds,
    timeoutMs: jwks.timeout_ms,
    now,
    onKeysRemoved: () => cache.clear(),
  });
}
