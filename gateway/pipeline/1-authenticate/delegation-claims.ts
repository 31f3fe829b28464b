import type { JWTPayload } from 'jose';
import type { IssuerConfig } from '../../config/schema.ts';
import { deepFreeze } from '../../deep-freeze.ts';
import { MandateError } from '../../errors.ts';
import type { Actor, Principal } from './principal.ts';

/** The token limits that apply to claims (`gateway.tokens`). */
export interface ClaimLimits {
  readonly max_lifetime_seconds: number;
  readonly clock_skew_seconds: number;
  readonly max_chain_depth: number;
}

/** Longest `intent` accepted, in characters (code points). */
const MAX_INTENT_CHARS = 2000;

const invalid = (claim: string) => new MandateError('MANDATE_AUTHN_CLAIM_INVALID', `${claim} claim`);
const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value !== '';
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The profile checks that follow signature and standard-claim validation (RFC 9068 §2.2, RFC 8693 §4,
 * RFC 9396 §2), then the Principal. Runs only on claims whose signature verified. `aud` membership is
 * not checked here: the backend is known only after routing (see `assertAudience`).
 */
export function toPrincipal(
  claims: JWTPayload,
  issuer: IssuerConfig,
  limits: ClaimLimits,
  tokenHash: string,
  nowSeconds: number,
): Principal {
  const { sub, jti, iat, exp } = claims;
  if (!isNonEmptyString(sub)) throw invalid('sub');
  if (!isNonEmptyString(jti)) throw invalid('jti');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('iat');
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('exp');
  // jose checks `iat` only together with maxTokenAge; a token issued in the future is not valid yet.
  if (iat > nowSeconds + limits.clock_skew_seconds) throw new MandateError('MANDATE_AUTHN_TOKEN_NOT_YET_VALID');
  if (exp - iat > limits.max_lifetime_seconds) throw new MandateError('MANDATE_AUTHN_LIFETIME_TOO_LONG');
  const chain = actorChain(claims.act, limits.max_chain_depth);
  return deepFreeze({
    user: sub,
    issuer: issuer.issuer,
    agent: chain[0] as Actor,
    chain,
    jti,
    audience: audience(claims.aud),
    scopes: scopes(claims.scope),
    authorizationDetails: authorizationDetails(claims.authorization_details),
    txn: optionalString(claims, 'txn'),
    intent: intent(claims.intent),
    clientId: optionalString(claims, 'client_id'),
    issuedAt: iat,
    expiresAt: exp,
    attributes: Object.fromEntries(
      issuer.user_claims.filter((c) => Object.hasOwn(claims, c)).map((c) => [c, claims[c]]),
    ),
    tokenHash,
    ...(claims.no_user === true ? { noUser: true as const } : {}),
  });
}

/** RFC 8693 §4.1: outermost `act` is the current actor, each nested `act` a prior one. Required here. */
function actorChain(act: unknown, maxDepth: number): Actor[] {
  const chain: Actor[] = [];
  for (let current = act; current !== undefined; current = (current as Record<string, unknown>).act) {
    if (!isObject(current) || !isNonEmptyString(current.sub)) throw invalid('act');
    if (current.iss !== undefined && !isNonEmptyString(current.iss)) throw invalid('act');
    if (chain.length === maxDepth) throw new MandateError('MANDATE_AUTHN_CLAIM_INVALID', 'act claim nested too deeply');
    chain.push(current.iss === undefined ? { sub: current.sub } : { sub: current.sub, iss: current.iss });
  }
  if (chain.length === 0) throw new MandateError('MANDATE_AUTHN_CLAIM_INVALID', 'act claim missing');
  return chain;
}

function audience(aud: unknown): string[] {
  if (isNonEmptyString(aud)) return [aud];
  if (Array.isArray(aud) && aud.length > 0 && aud.every(isNonEmptyString)) return aud;
  throw invalid('aud');
}

/** RFC 8693 §4.2 / RFC 6749 §3.3: one space-separated string. */
function scopes(scope: unknown): string[] {
  if (scope === undefined) return [];
  if (typeof scope !== 'string') throw invalid('scope');
  return scope.split(' ').filter((s) => s !== '');
}

/** RFC 9396 §2: an array of objects, each with a string `type`. */
function authorizationDetails(details: unknown): Record<string, unknown>[] {
  if (details === undefined) return [];
  if (!Array.isArray(details) || !details.every((d) => isObject(d) && isNonEmptyString(d.type))) {
    throw invalid('authorization_details');
  }
  return details;
}

function intent(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || [...value].length > MAX_INTENT_CHARS) throw invalid('intent');
  return value;
}

function optionalString(claims: JWTPayload, claim: string): string | undefined {
  const value = claims[claim];
  if (value !== undefined && typeof value !== 'string') throw invalid(claim);
  return value;
}
