import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminConfig, AdminRole } from '../config/schema.ts';
import { readSecret } from '../pipeline/4-inject/secret.ts';

/** Shortest admin key accepted at start-up: 32 characters, e.g. `openssl rand -base64 32`. */
export const MIN_ADMIN_KEY_LENGTH = 32;

/** Who called the admin API: the key's name from routes.yaml and the roles it holds. */
export interface AdminPrincipal {
  /** `admin.keys[].name`: what audit events record as the actor, never the key. */
  readonly name: string;
  readonly roles: readonly AdminRole[];
}

interface KeyEntry {
  readonly principal: AdminPrincipal;
  /** SHA-256 of the key: the key itself is not kept once it has been read. */
  readonly digest: Buffer;
}

/**
 * The admin API keys of routes.yaml, read once at start (a missing, short or duplicated key stops the
 * gateway) and held as SHA-256 digests only.
 */
export class AdminKeyring {
  readonly #entries: readonly KeyEntry[];

  private constructor(entries: readonly KeyEntry[]) {
    this.#entries = entries;
  }

  /** Reads every key by reference; undefined when routes.yaml has no `admin` section. */
  static load(config: AdminConfig | undefined): AdminKeyring | undefined {
    if (config === undefined) return undefined;
    const digests = new Set<string>();
    const entries = config.keys.map((key): KeyEntry => {
      const value = readSecret(key.secret).reveal();
      if (value.length < MIN_ADMIN_KEY_LENGTH) {
        throw new Error(`admin key "${key.name}" (${key.secret}): shorter than ${MIN_ADMIN_KEY_LENGTH} characters`);
      }
      const digest = sha256(value);
      // Two names for one key would make the audit trail's `revoked_by` a guess.
      const hex = digest.toString('hex');
      if (digests.has(hex)) throw new Error(`admin key "${key.name}": the same key is configured twice`);
      digests.add(hex);
      return { principal: Object.freeze({ name: key.name, roles: Object.freeze([...key.roles]) }), digest };
    });
    return new AdminKeyring(entries);
  }

  /**
   * The principal whose key this is, or undefined. Constant time in the key: the presented key is
   * hashed and the digest compared with every configured digest by `timingSafeEqual`, without
   * stopping at a match, so timing reveals neither how much of a key was right nor which key matched.
   */
  identify(presented: string): AdminPrincipal | undefined {
    const digest = sha256(presented);
    let found: AdminPrincipal | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(digest, entry.digest)) found = entry.principal;
    }
    return found;
  }
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
