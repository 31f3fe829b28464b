import { SignJWT } from 'jose';
import type { DevKey } from './dev-keys.ts';

/** What a development delegation token says. Mirrors what the token service will issue. */
export interface DelegationClaims {
  readonly issuer: string;
  /** The user the agent acts for. */
  readonly user: string;
  /** Agent chain, current actor first: ['hr-agent'] or ['sub-agent', 'hr-agent']. */
  readonly agents: readonly string[];
  readonly audience: string;
  readonly scope?: string;
  readonly authorizationDetails?: readonly Record<string, unknown>[];
  readonly txn?: string;
  readonly intent?: string;
  /** Extra user claims, e.g. { roles: ['procurement'], region: 'emea' }. */
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly ttlSeconds?: number;
  /** Seconds since the epoch; defaults to now. */
  readonly issuedAt?: number;
}

/** Signs a delegation token (`typ` at+jwt, RFC 9068) with the local development key. */
export async function mintDelegationToken(key: DevKey, claims: DelegationClaims): Promise<string> {
  const iat = claims.issuedAt ?? Math.floor(Date.now() / 1000);
  // RFC 8693 §4.1: the current actor is the outermost act; earlier actors nest inside it.
  const act = claims.agents.reduceRight<Record<string, unknown> | undefined>(
    (inner, sub) => (inner ? { sub, act: inner } : { sub }),
    undefined,
  );
  return new SignJWT({
    ...claims.extra,
    ...(act ? { act } : {}),
    ...(claims.scope ? { scope: claims.scope } : {}),
    ...(claims.authorizationDetails ? { authorization_details: claims.authorizationDetails } : {}),
    ...(claims.txn ? { txn: claims.txn } : {}),
    ...(claims.intent ? { intent: claims.intent } : {}),
    client_id: claims.agents[0],
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
    .setIssuer(claims.issuer)
    .setSubject(claims.user)
    .setAudience(claims.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (claims.ttlSeconds ?? 300))
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
}
