import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CryptoKey,
  createLocalJWKSet,
  exportJWK,
  type FlattenedJWSInput,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWSHeaderParameters,
} from 'jose';
import type { KeySet } from '../pipeline/1-authenticate/key-set.ts';

/** One of Mandate's signing keys as kept on disk (`<keys_dir>/<kid>.json`, mode 0600). */
interface StoredKey {
  readonly kid: string;
  readonly alg: 'ES256' | 'EdDSA';
  /** Seconds since the epoch. */
  readonly created_at: number;
  readonly private_jwk: JWK;
  readonly public_jwk: JWK;
}

export interface SigningKeysOptions {
  readonly dir: string;
  readonly algorithm: 'ES256' | 'EdDSA';
  readonly rotateAfterSeconds: number;
  /** Longest lifetime of a token any key signs: how long a replaced key stays published. */
  readonly tokenLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
}

/**
 * Mandate's own signing keys: generated on first run into a git-ignored folder, rotated after
 * `rotateAfterSeconds`. A replaced key signs nothing more but stays in the JWKS (and verifies) until
 * every token it signed has expired — its replacement's creation plus the token lifetime and clock
 * skew — and is deleted after that. The newest key signs.
 */
export class SigningKeys {
  readonly #options: SigningKeysOptions;
  #keys: StoredKey[];
  #resolver: ReturnType<typeof createLocalJWKSet>;

  private constructor(options: SigningKeysOptions, keys: StoredKey[]) {
    this.#options = options;
    this.#keys = keys;
    this.#resolver = createLocalJWKSet(this.jwks());
  }

  static async open(options: SigningKeysOptions): Promise<SigningKeys> {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const keys = readdirSync(options.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(options.dir, f), 'utf8')) as StoredKey)
      .filter((k) => k.alg === options.algorithm)
      .sort((a, b) => a.created_at - b.created_at);
    const store = new SigningKeys(options, keys);
    await store.#rotateIfDue();
    return store;
  }

  /** The key that signs now (rotating first when it is due). */
  async signingKey(): Promise<{ kid: string; alg: 'ES256' | 'EdDSA'; key: CryptoKey }> {
    await this.#rotateIfDue();
    const newest = this.#keys.at(-1)!;
    return { kid: newest.kid, alg: newest.alg, key: (await importJWK(newest.private_jwk, newest.alg)) as CryptoKey };
  }

  /** The public JWKS document: the signing key and every replaced key whose tokens may still be valid. */
  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((k) => k.public_jwk) };
  }

  /** The same keys as the proxy's verifier sees them, in-process (no HTTP round trip to itself). */
  readonly keySet: KeySet = {
    getKey: (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
      this.#prune();
      return this.#resolver(header, token);
    },
    close() {},
  };

  async #rotateIfDue(): Promise<void> {
    this.#prune();
    const nowSeconds = Math.floor(this.#options.now() / 1000);
    const newest = this.#keys.at(-1);
    if (newest && nowSeconds - newest.created_at < this.#options.rotateAfterSeconds) return;
    const { privateKey, publicKey } = await generateKeyPair(this.#options.algorithm, { extractable: true });
    const kid = `mandate-${new Date(nowSeconds * 1000).toISOString().slice(0, 10)}-${crypto.randomUUID().slice(0, 8)}`;
    const meta = { kid, alg: this.#options.algorithm, use: 'sig' };
    const key: StoredKey = {
      kid,
      alg: this.#options.algorithm,
      created_at: nowSeconds,
      private_jwk: { ...(await exportJWK(privateKey)), ...meta },
      public_jwk: { ...(await exportJWK(publicKey)), ...meta },
    };
    writeFileSync(join(this.#options.dir, `${kid}.json`), JSON.stringify(key), { mode: 0o600 });
    this.#keys = [...this.#keys, key];
    this.#resolver = createLocalJWKSet(this.jwks());
  }

  /** Drops keys replaced long enough ago that nothing they signed can still be valid. */
  #prune(): void {
    const nowSeconds = Math.floor(this.#options.now() / 1000);
    const grace = this.#options.tokenLifetimeSeconds + this.#options.clockSkewSeconds;
    const expired = this.#keys.filter((_, i) => {
      const replacedAt = this.#keys[i + 1]?.created_at;
      return replacedAt !== undefined && nowSeconds > replacedAt + grace;
    });
    if (expired.length === 0) return;
    for (const k of expired) rmSync(join(this.#options.dir, `${k.kid}.json`), { force: true });
    this.#keys = this.#keys.filter((k) => !expired.includes(k));
    this.#resolver = createLocalJWKSet(this.jwks());
  }
}
