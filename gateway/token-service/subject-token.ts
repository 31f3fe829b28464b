import { createHash } from 'node:crypto';
import type { IdentityProviderConfig } from '../config/token-service-schema.ts';
import { decodeUnverifiedClaims } from '../pipeline/1-authenticate/compact-jws.ts';
import type { KeySet } from '../pipeline/1-authenticate/key-set.ts';
import type { Principal } from '../pipeline/1-authenticate/principal.ts';
import { type Verifier, verifyToken } from '../pipeline/1-authenticate/verify-token.ts';
import { OAuthError } from './oauth-error.ts';
import { TOKEN_TYPE } from './token-types.ts';
import { unverifiedClaim } from './unverified-claim.ts';
import { verifyJwt } from './verify-jwt.ts';

/** An identity provider from routes.yaml with its loaded keys. */
export interface TrustedIdentityProvider {
  readonly config: IdentityProviderConfig;
  readonly keys: KeySet;
}

/** The party on whose behalf the exchange is made (RFC 8693 §2.1 `subject_token`), verified. */
export type Subject =
  | {
      /** A user's token from a corporate identity provider. */
      readonly kind: 'user';
      readonly user: string;
      readonly issuer: string;
      /** The IdP's allow-listed user claims (`identity_providers[].user_claims`). */
      readonly attributes: Readonly<Record<string, unknown>>;
      /** RFC 8693 §4.4, when the token names who may act for it. */
      readonly mayAct: { readonly sub: string; readonly iss?: string } | null;
      readonly jti: string | null;
      readonly issuedAt: number;
      readonly expiresAt: number;
      readonly tokenHash: string;
    }
  | {
      /** A delegation token Mandate issued: re-delegation or renewal. */
      readonly kind: 'delegation';
      readonly principal: Principal;
      /** When the task's first token was issued (`task_started_at`): renewals stop at a maximum after it. */
      readonly taskStartedAt: number;
      readonly expiresAt: number;
      readonly tokenHash: string;
    };

export interface SubjectContext {
  readonly identityProviders: ReadonlyMap<string, TrustedIdentityProvider>;
  /** Verifies Mandate's own tokens exactly as the proxy does. */
  readonly ownVerifier: Verifier;
  readonly ownIssuer: string;
  readonly clockSkewSeconds: number;
  readonly nowMs: number;
}

/**
 * Verifies `subject_token` against what `subject_token_type` declares (RFC 8693 §2.1, GW-TX-8): an
 * access token must be `typ` at+jwt, an ID token must not be; a refresh token or anything else is
 * refused. The issuer selects the checks: one of Mandate's own delegation tokens (re-delegation,
 * renewal), or a configured identity provider's, which must also have that type enabled and carry
 * one of its configured audiences.
 */
export async function verifySubject(token: string, type: string | undefined, ctx: SubjectContext): Promise<Subject> {
  if (type !== TOKEN_TYPE.accessToken && type !== TOKEN_TYPE.idToken) {
    throw new OAuthError('invalid_request', 'subject_token.type_unsupported');
  }
  const tokenHash = createHash('sha256').update(token).digest('hex');
  const iss = unverifiedClaim(token, 'iss');
  if (iss === ctx.ownIssuer) {
    if (type !== TOKEN_TYPE.accessToken) throw new OAuthError('invalid_request', 'subject_token.type_mismatch');
    let principal: Principal;
    try {
      principal = await verifyToken(token, tokenHash, ctx.ownVerifier);
    } catch (e) {
      throw new OAuthError('invalid_request', `subject_token.${reasonOf(e)}`, { cause: e });
    }
    // Read after the signature verified: the claim is Mandate's own, signed.
    const started = decodeUnverifiedClaims(token).task_started_at;
    const taskStartedAt = typeof started === 'number' && Number.isInteger(started) ? started : principal.issuedAt;
    return { kind: 'delegation', principal, taskStartedAt, expiresAt: principal.expiresAt, tokenHash };
  }
  const idp = iss === undefined ? undefined : ctx.identityProviders.get(iss);
  if (!idp) throw new OAuthError('invalid_request', 'subject_token.issuer_unknown');
  const declared = type === TOKEN_TYPE.accessToken ? 'access_token' : 'id_token';
  if (!idp.config.token_types.includes(declared))
    throw new OAuthError('invalid_request', 'subject_token.type_not_allowed');
  const claims = await verifyJwt(token, {
    keys: idp.keys,
    issuer: idp.config.issuer,
    audience: idp.config.audiences,
    algorithms: idp.config.algorithms,
    // RFC 9068 §2.1 / RFC 8725 §3.11: the declared type must be the token's actual type.
    types: declared === 'access_token' ? ['at+jwt', 'application/at+jwt'] : [null, 'jwt'],
    clockSkewSeconds: ctx.clockSkewSeconds,
    nowMs: ctx.nowMs,
    error: 'invalid_request',
    what: 'subject_token',
  });
  const sub = claims.sub as string;
  if (sub === '') throw new OAuthError('invalid_request', 'subject_token.claim_invalid:sub');
  return {
    kind: 'user',
    user: sub,
    issuer: idp.config.issuer,
    attributes: Object.fromEntries(
      idp.config.user_claims.filter((c) => Object.hasOwn(claims, c)).map((c) => [c, claims[c]]),
    ),
    mayAct: mayAct(claims.may_act),
    jti: typeof claims.jti === 'string' ? claims.jti : null,
    issuedAt: claims.iat as number,
    expiresAt: claims.exp as number,
    tokenHash,
  };
}

function mayAct(value: unknown): { sub: string; iss?: string } | null {
  if (value === undefined) return null;
  const { sub, iss } = (value ?? {}) as { sub?: unknown; iss?: unknown };
  if (typeof sub !== 'string' || (iss !== undefined && typeof iss !== 'string')) {
    throw new OAuthError('invalid_request', 'subject_token.claim_invalid:may_act');
  }
  return iss === undefined ? { sub } : { sub, iss };
}

/** `authn.token_expired` → `token_expired`: the proxy's reason, reused for the audit row. */
function reasonOf(e: unknown): string {
  const reason = (e as { entry?: { reason?: unknown } }).entry?.reason;
  return typeof reason === 'string' ? reason.replace(/^authn\./, '') : 'invalid';
}
