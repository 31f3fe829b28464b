import { type JWTPayload, jwtVerify } from 'jose';
import { decodeHeader } from '../pipeline/1-authenticate/compact-jws.ts';
import type { KeySet } from '../pipeline/1-authenticate/key-set.ts';
import { OAuthError, type OAuthErrorCode } from './oauth-error.ts';

/** What a JWT presented to the token endpoint must satisfy besides its signature. */
export interface JwtExpectations {
  readonly keys: KeySet;
  readonly issuer: string;
  readonly algorithms: readonly string[];
  /** Allowed `typ` values (lower-case); `null` in the list allows an absent `typ`. */
  readonly types: readonly (string | null)[];
  readonly audience?: string | readonly string[];
  readonly subject?: string;
  readonly clockSkewSeconds: number;
  readonly nowMs: number;
  /** The OAuth error and audit reason prefix for a failure (`subject_token`, `client_assertion`, …). */
  readonly error: OAuthErrorCode;
  readonly what: string;
}

// RFC 8725 §3.10: keys come from configuration only, never from the token.
const KEY_REFERENCES = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;

/**
 * Verifies a compact JWS the way the proxy does (compact form, no embedded keys, `typ` allow-list,
 * `alg` allow-list, keys scoped to the issuer, exp/nbf/iat with leeway) and returns its claims.
 * Every failure is one OAuthError whose audit reason names the step (`subject_token.expired`).
 */
export async function verifyJwt(token: string, expect: JwtExpectations): Promise<JWTPayload> {
  const fail = (step: string, cause?: unknown) =>
    new OAuthError(expect.error, `${expect.what}.${step}`, cause === undefined ? undefined : { cause });
  let header: Readonly<Record<string, unknown>>;
  try {
    header = decodeHeader(token);
  } catch (e) {
    throw fail('malformed', e);
  }
  if (KEY_REFERENCES.some((name) => Object.hasOwn(header, name))) throw fail('malformed');
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : header.typ === undefined ? null : undefined;
  if (typ === undefined || !expect.types.includes(typ)) throw fail('type_mismatch');
  if (typeof header.alg !== 'string' || !expect.algorithms.includes(header.alg)) throw fail('algorithm_rejected');
  try {
    const { payload } = await jwtVerify(token, expect.keys.getKey, {
      issuer: expect.issuer,
      algorithms: [...expect.algorithms],
      clockTolerance: expect.clockSkewSeconds,
      currentDate: new Date(expect.nowMs),
      requiredClaims: ['exp', 'iat', 'sub'],
      ...(expect.audience === undefined ? {} : { audience: expect.audience as string | string[] }),
      ...(expect.subject === undefined ? {} : { subject: expect.subject }),
    });
    if ((payload.iat as number) > expect.nowMs / 1000 + expect.clockSkewSeconds) throw fail('not_yet_valid');
    return payload;
  } catch (e) {
    if (e instanceof OAuthError) throw e;
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_JWT_EXPIRED') throw fail('expired', e);
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY') {
      throw fail('signature_invalid', e);
    }
    if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
      throw fail(`claim_invalid:${String((e as { claim?: unknown }).claim ?? 'unknown')}`, e);
    }
    throw fail('invalid', e);
  }
}
