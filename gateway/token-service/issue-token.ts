import { SignJWT } from 'jose';
import type { Actor } from '../pipeline/1-authenticate/principal.ts';
import type { SigningKeys } from './signing-keys.ts';

/** Everything an issued delegation token says (RFC 9068 §2.2, RFC 8693 §4, RFC 9396 §9.1). */
export interface IssuedClaims {
  readonly issuer: string;
  /** The user; for a background token, the agent itself (with `noUser`). */
  readonly subject: string;
  readonly noUser: boolean;
  /** New chain, current actor first; nested into `act` least recent innermost (RFC 8693 §4.1). */
  readonly chain: readonly Actor[];
  readonly audience: string;
  readonly scopes: readonly string[];
  readonly authorizationDetails: readonly unknown[];
  readonly txn: string;
  readonly intent: string | undefined;
  readonly clientId: string;
  /** The user's allow-listed claims (roles, region…), carried for the backends' policies. */
  readonly userClaims: Readonly<Record<string, unknown>>;
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** First issuance of this task (`txn`): renewals stop at this plus max_task_lifetime_seconds. */
  readonly taskStartedAt: number;
}

/** Signs a delegation token: `typ` at+jwt, Mandate's current key and its `kid`. */
export async function issueToken(keys: SigningKeys, claims: IssuedClaims): Promise<{ token: string; jti: string }> {
  const { kid, alg, key } = await keys.signingKey();
  const jti = crypto.randomUUID();
  const act = claims.chain.reduceRight<Record<string, unknown> | undefined>(
    (inner, a) => ({ sub: a.sub, ...(a.iss === undefined ? {} : { iss: a.iss }), ...(inner ? { act: inner } : {}) }),
    undefined,
  );
  const token = await new SignJWT({
    ...claims.userClaims,
    act,
    ...(claims.scopes.length > 0 ? { scope: claims.scopes.join(' ') } : {}),
    ...(claims.authorizationDetails.length > 0 ? { authorization_details: claims.authorizationDetails } : {}),
    txn: claims.txn,
    ...(claims.intent === undefined ? {} : { intent: claims.intent }),
    client_id: claims.clientId,
    task_started_at: claims.taskStartedAt,
    ...(claims.noUser ? { no_user: true } : {}),
  })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .setIssuer(claims.issuer)
    .setSubject(claims.subject)
    .setAudience(claims.audience)
    .setIssuedAt(claims.issuedAt)
    .setExpirationTime(claims.expiresAt)
    .setJti(jti)
    .sign(key);
  return { token, jti };
}
