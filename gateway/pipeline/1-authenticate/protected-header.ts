import { MandateError } from '../../errors.ts';

// RFC 9068 §4 step 1. Media types compare case-insensitively (RFC 7515 §4.1.9), so `AT+JWT` is the
// same type; nothing else (`JWT`, absent, `at+jwt; x=y`) is an access token.
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);

// RFC 8725 §3.10: keys come only from the issuer's configured key set, never from the token.
const KEY_REFERENCES = ['jku', 'x5u', 'jwk', 'x5c'] as const;

const KID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * The header checks of the GW-JWT order (STANDARDS §3.3): `typ` → `alg` → no embedded or remote key
 * references → no `crit` → `kid` syntax. `allowedAlgorithms` is the union of every issuer's allow-list
 * (the issuer is not known yet); the issuer's own list is applied once `iss` is read. Comparison is
 * exact and case-sensitive, so `none`, `noNE` and every HS* fall out (the config admits asymmetric
 * algorithms only). Returns the `alg`.
 */
export function checkProtectedHeader(
  header: Readonly<Record<string, unknown>>,
  allowedAlgorithms: ReadonlySet<string>,
): string {
  const { typ, alg, kid } = header;
  if (typeof typ !== 'string' || !ACCESS_TOKEN_TYPES.has(typ.toLowerCase())) {
    throw new MandateError('MANDATE_AUTHN_TOKEN_TYPE_INVALID', 'typ header must be at+jwt');
  }
  if (typeof alg !== 'string' || !allowedAlgorithms.has(alg)) {
    throw new MandateError('MANDATE_AUTHN_ALGORITHM_REJECTED', 'alg header is not an allowed algorithm');
  }
  for (const name of KEY_REFERENCES) {
    if (Object.hasOwn(header, name)) {
      throw new MandateError('MANDATE_AUTHN_TOKEN_MALFORMED', `${name} header is not accepted`);
    }
  }
  // No extension is understood, so any `crit` (even empty, which RFC 7515 §4.1.11 forbids) is refused.
  if (Object.hasOwn(header, 'crit'))
    throw new MandateError('MANDATE_AUTHN_TOKEN_MALFORMED', 'crit header is not accepted');
  if (kid !== undefined && (typeof kid !== 'string' || !KID.test(kid))) {
    throw new MandateError('MANDATE_AUTHN_TOKEN_MALFORMED', 'kid header has an invalid syntax');
  }
  return alg;
}
