import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The checkpoint signing key lives in its own folder (`gateway.audit.checkpoint.key_dir`), apart from
 * any token-signing key and never in the repository:
 *
 *   signing-key.pem    the current Ed25519 private key (PKCS #8, mode 0600), created on first run
 *   public-keys.json   every public key that ever signed checkpoints, as a JWK Set whose keys carry
 *                      `kid` (RFC 7638 thumbprint), `created` and, once rotated out, `retired`
 *
 * Rotation replaces the private key and keeps the old public key, so older checkpoints still verify.
 * public-keys.json is public: give auditors their own copy (`verify --keys`), so that whoever can
 * rewrite the gateway's files cannot also swap the keys the checkpoints are checked against.
 */
export const SIGNING_KEY_FILE = 'signing-key.pem';
export const PUBLIC_KEYS_FILE = 'public-keys.json';

/** A public key as kept in public-keys.json. */
export interface PublishedKey extends JsonWebKey {
  readonly kid: string;
  readonly created: string;
  readonly retired?: string;
}

export interface SigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key: the checkpoint's key_id. */
export function keyIdOf(publicKey: KeyObject): string {
  const { x } = publicKey.export({ format: 'jwk' });
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

/** The current signing key of `dir`, generated (with its public-keys.json entry) on first use. */
export function loadSigningKey(dir: string, now: () => Date = () => new Date()): SigningKey {
  const file = join(dir, SIGNING_KEY_FILE);
  if (!existsSync(file)) return createSigningKey(dir, now());
  const privateKey = createPrivateKey(readFileSync(file));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 private key`);
  return { keyId: keyIdOf(createPublicKey(privateKey)), privateKey };
}

/** Identifies the current key file's version, so a running writer notices a rotation. */
export function signingKeyVersion(dir: string): string {
  const s = statSync(join(dir, SIGNING_KEY_FILE));
  return `${s.ino}:${s.mtimeMs}`;
}

/**
 * Replaces the signing key: the new public key is published first, then the private key file is
 * swapped (each by an atomic rename), so no checkpoint is ever signed by an unpublished key. The old
 * public key stays, marked `retired`; the old private key is gone.
 */
export function rotateSigningKey(
  dir: string,
  now: () => Date = () => new Date(),
): { retired: string; current: string } {
  const old = loadSigningKey(dir, now);
  const current = createSigningKey(dir, now(), old.keyId);
  return { retired: old.keyId, current: current.keyId };
}

/** Reads a public-keys.json (or any JWK Set of Ed25519 keys): key_id → public key. */
export function readPublicKeys(file: string): Map<string, KeyObject> {
  const set = JSON.parse(readFileSync(file, 'utf8')) as { keys?: unknown };
  if (!Array.isArray(set.keys)) throw new Error(`${file} is not a JWK Set (no "keys" array)`);
  const keys = new Map<string, KeyObject>();
  for (const jwk of set.keys as JsonWebKey[]) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') continue;
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
    // Indexed by the computed thumbprint, never by the file's `kid`: a mislabelled key can't vouch.
    keys.set(keyIdOf(key), key);
  }
  return keys;
}

function createSigningKey(dir: string, at: Date, retiring?: string): SigningKey {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyId = keyIdOf(publicKey);
  const published = readPublished(dir).map((k) => (k.kid === retiring ? { ...k, retired: at.toISOString() } : k));
  const { x } = publicKey.export({ format: 'jwk' });
  published.push({
    kty: 'OKP',
    crv: 'Ed25519',
    x,
    kid: keyId,
    use: 'sig',
    alg: 'EdDSA',
    created: at.toISOString(),
  } as PublishedKey);
  writeAtomically(join(dir, PUBLIC_KEYS_FILE), `${JSON.stringify({ keys: published }, null, 2)}\n`, 0o644);
  writeAtomically(join(dir, SIGNING_KEY_FILE), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  return { keyId, privateKey };
}

function readPublished(dir: string): PublishedKey[] {
  const file = join(dir, PUBLIC_KEYS_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { keys: PublishedKey[] }).keys : [];
}

function writeAtomically(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}
