import { type KeyObject, sign, verify } from 'node:crypto';

/**
 * A signed statement "at `time`, the audit chain's head was row `seq` with hash `hash`". Stored in the
 * `checkpoints` table and appended, one JSON object per line, to the checkpoint file, which should
 * live where the gateway's database writer cannot rewrite it. Because the signing key is not in the
 * database, whoever can rewrite the database cannot forge one: a checkpoint beyond the database's
 * last row proves the tail was cut off, one whose hash differs proves the chain was rewritten.
 */
export interface Checkpoint {
  readonly seq: number;
  /** `hash` of row `seq` (64 zeros when the chain is empty, seq 0). */
  readonly hash: string;
  /** ISO 8601 UTC with milliseconds. */
  readonly time: string;
  /** RFC 7638 thumbprint of the Ed25519 public key that signed it. */
  readonly key_id: string;
  /** base64url Ed25519 signature over `signedBytes`. */
  readonly signature: string;
}

/**
 * The bytes signed: RFC 8785 canonical JSON of {hash, key_id, seq, time}, i.e. with the keys in that
 * order, no spaces: `{"hash":"…","key_id":"…","seq":42,"time":"…"}`. Every value is a plain string or
 * integer, so JSON.stringify of each is already canonical. Binding key_id stops a signature being
 * presented under another key's id.
 */
export function signedBytes(c: Omit<Checkpoint, 'signature'>): Buffer {
  const json = `{"hash":${JSON.stringify(c.hash)},"key_id":${JSON.stringify(c.key_id)},"seq":${JSON.stringify(c.seq)},"time":${JSON.stringify(c.time)}}`;
  return Buffer.from(json, 'utf8');
}

/** Signs {seq, hash, time} with the Ed25519 private key whose thumbprint is `keyId`. */
export function signCheckpoint(
  head: { seq: number; hash: string; time: string },
  keyId: string,
  privateKey: KeyObject,
): Checkpoint {
  const unsigned = { seq: head.seq, hash: head.hash, time: head.time, key_id: keyId };
  return { ...unsigned, signature: sign(null, signedBytes(unsigned), privateKey).toString('base64url') };
}

/** True when `c.signature` is a valid Ed25519 signature by `publicKey` over its fields. */
export function hasValidSignature(c: Checkpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, signedBytes(c), publicKey, Buffer.from(c.signature, 'base64url'));
  } catch {
    return false;
  }
}

/** Parses one line of a checkpoint file; undefined when it is not a well-formed checkpoint. */
export function parseCheckpoint(line: string): Checkpoint | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const c = value as Record<string, unknown>;
  const wellFormed =
    Number.isSafeInteger(c.seq) &&
    (c.seq as number) >= 0 &&
    typeof c.hash === 'string' &&
    /^[0-9a-f]{64}$/.test(c.hash) &&
    typeof c.time === 'string' &&
    typeof c.key_id === 'string' &&
    typeof c.signature === 'string';
  return wellFormed
    ? {
        seq: c.seq as number,
        hash: c.hash as string,
        time: c.time as string,
        key_id: c.key_id as string,
        signature: c.signature as string,
      }
    : undefined;
}

/** The checkpoint as one line of the checkpoint file (and the recipe's input). */
export const checkpointLine = (c: Checkpoint): string =>
  `${JSON.stringify({ seq: c.seq, hash: c.hash, time: c.time, key_id: c.key_id, signature: c.signature })}\n`;
