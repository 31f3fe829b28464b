import { errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import type { IssuerConfig } from '../../config/schema.ts';
import { MandateError } from '../../errors.ts';
import { decodeHeader, decodeUnverifiedClaims } from './compact-jws.ts';
import { type ClaimLimits, toPrincipal } from './delegation-claims.ts';
import { toMandateError } from './jose-errors.ts';
import type { KeySet } from './key-set.ts';
import type { Principal } from './principal.ts';
import { checkProtectedHeader } from './protected-header.ts';

/** An issuer from `issuers[]` with its loaded keys. */
export interface TrustedIssuer {
  readonly config: IssuerConfig;
  readonly keys: KeySet;
}

/** Everything a verification needs besides the token. */
export interface Verifier {
  /** Keyed by the exact `iss` value. */
  readonly issuers: ReadonlyMap<string, TrustedIssuer>;
  /** Union of every issuer's allow-list: the `alg` check that runs before the issuer is known. */
  readonly algorithms: ReadonlySet<string>;
  readonly limits: ClaimLimits;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
}

const REQUIRED_CLAIMS = ['exp', 'iat', 'jti', 'sub'];

/**
 * Verifies one compact token in the GW-JWT order (STANDARDS §3.3) and returns its Principal. The size
 * cap has already been applied by `extractBearer`. Each step refuses with its own catalogue code;
 * nothing in the token is trusted before the step that checks it.
 */
export async function verifyToken(token: string, tokenHash: string, verifier: Verifier): Promise<Principal> {
  const alg = checkProtectedHeader(decodeHeader(token), verifier.algorithms);

  // The unverified `iss` only selects which keys to try; jose then requires it to match exactly.
  const { iss } = decodeUnverifiedClaims(token);
  if (typeof iss !== 'string') throw new MandateError('MANDATE_AUTHN_CLAIM_INVALID', 'iss claim');
  const issuer = verifier.issuers.get(iss);
  if (!issuer) throw new MandateError('MANDATE_AUTHN_ISSUER_UNKNOWN');
  if (!(issuer.config.algorithms as readonly string[]).includes(alg)) {
    throw new MandateError('MANDATE_AUTHN_ALGORITHM_REJECTED', 'alg header is not allowed for this issuer');
  }

  const now = verifier.now();
  let payload: JWTPayload;
  try {
    payload = await verifyWithIssuerKeys(token, issuer.keys, {
      issuer: issuer.config.issuer,
      algorithms: [...issuer.config.algorithms],
      clockTolerance: verifier.limits.clock_skew_seconds,
      currentDate: new Date(now),
      requiredClaims: REQUIRED_CLAIMS,
    });
  } catch (error) {
    throw toMandateError(error);
  }
  return toPrincipal(payload, issuer.config, verifier.limits, tokenHash, Math.floor(now / 1000));
}

async function verifyWithIssuerKeys(token: string, keys: KeySet, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keys.getKey, options)).payload;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
    // No `kid` and several keys fit (typical mid-rotation): try each; jose exposes them as an iterator.
    for await (const key of error as errors.JWKSMultipleMatchingKeys) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (inner) {
        if ((inner as { code?: unknown }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}
