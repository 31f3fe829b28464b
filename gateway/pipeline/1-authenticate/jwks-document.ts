import { createLocalJWKSet, type JWK, type LocalJWKSet } from 'jose';

// Asymmetric key types only: an `oct` key in a published key set would be an HMAC secret.
const SIGNATURE_KEY_TYPES = new Set(['EC', 'RSA', 'OKP']);

/**
 * Turns a JWKS document (RFC 7517 §5) into a jose key resolver holding only usable public signature
 * keys: encryption keys (`use: enc`), symmetric keys and private keys (`d`) are dropped. jose then
 * selects by `kid` and honours each key's `alg`, `use` and `key_ops`. Throws when nothing usable is
 * left, so a broken document never replaces a good key set.
 */
export function toLocalKeySet(document: unknown): LocalJWKSet {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('not a JWKS document (no "keys" array)');
  const usable = keys.filter(isSignatureVerificationKey);
  if (usable.length === 0) throw new Error('no usable asymmetric signature verification key');
  return createLocalJWKSet({ keys: usable });
}

function isSignatureVerificationKey(key: unknown): key is JWK {
  if (typeof key !== 'object' || key === null || Array.isArray(key)) return false;
  const { kty, use, alg, d } = key as Record<string, unknown>;
  return (
    typeof kty === 'string' &&
    SIGNATURE_KEY_TYPES.has(kty) &&
    (use === undefined || use === 'sig') &&
    (alg === undefined || typeof alg === 'string') &&
    d === undefined
  );
}
