import type { IncomingMessage } from 'node:http';
import { MandateError } from '../errors.ts';
import { extractBearer } from '../pipeline/1-authenticate/bearer.ts';
import { decodeUnverifiedClaims } from '../pipeline/1-authenticate/compact-jws.ts';
import { OAuthError } from '../token-service/oauth-error.ts';
import { verifyJwt } from '../token-service/verify-jwt.ts';
import type { Approvals } from './approvals.ts';

/** The user deciding, as her identity provider vouches for her. */
export interface Approver {
  /** `sub` at her identity provider: the `sub` of the delegation tokens issued for her. */
  readonly user: string;
  readonly issuer: string;
}

/**
 * Authenticates an approver by her own access token from a configured identity provider, verified as
 * the token service verifies a subject token (typ at+jwt, the IdP's keys and algorithms, exp/iat with
 * the clock leeway) but for the IdP's `approver_audiences`, never its exchange `audiences`: her agent
 * holds her exchange token (it is the subject_token), so accepting that one would let the agent approve
 * its own call. A delegation token — any token with `act` — is refused first, with its own code.
 */
export async function authenticateApprover(
  approvals: Approvals,
  req: IncomingMessage,
  limits: { readonly maxBytes: number; readonly clockSkewSeconds: number },
  nowMs: number,
): Promise<Approver> {
  const token = extractBearer(req, limits.maxBytes);
  let claims: Readonly<Record<string, unknown>>;
  try {
    claims = decodeUnverifiedClaims(token);
  } catch {
    throw new MandateError('MANDATE_APPROVER_UNAUTHENTICATED', 'the token is not a JWT');
  }
  // A refusal needs no verified claim: reading `act` unverified can only refuse, never admit.
  if (Object.hasOwn(claims, 'act')) throw new MandateError('MANDATE_APPROVER_IS_AGENT');
  const idp = typeof claims.iss === 'string' ? approvals.identityProviders.get(claims.iss) : undefined;
  if (idp === undefined) {
    throw new MandateError('MANDATE_APPROVER_UNAUTHENTICATED', 'not a token of a configured identity provider');
  }
  const audiences = idp.config.approver_audiences;
  if (audiences === undefined) {
    throw new MandateError('MANDATE_APPROVER_UNAUTHENTICATED', 'this identity provider has no approver audience');
  }
  try {
    const verified = await verifyJwt(token, {
      keys: idp.keys,
      issuer: idp.config.issuer,
      audience: audiences,
      algorithms: idp.config.algorithms,
      types: ['at+jwt', 'application/at+jwt'],
      clockSkewSeconds: limits.clockSkewSeconds,
      nowMs,
      error: 'invalid_request',
      what: 'approver_token',
    });
    return { user: verified.sub as string, issuer: idp.config.issuer };
  } catch (e) {
    if (e instanceof OAuthError) throw new MandateError('MANDATE_APPROVER_UNAUTHENTICATED', e.reason, { cause: e });
    throw e;
  }
}
