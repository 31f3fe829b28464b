import { MandateError } from '../errors.ts';

/**
 * What a revocation names. `user` (sign-out) and `agent` refuse tokens issued at or before the
 * revocation; `txn` refuses every token carrying that task id, for good (none of these three is ever
 * pruned: there is no un-revoke). `jti` refuses the one token with that id, until it would have
 * expired anyway: then the revocation is pruned.
 */
export const revocationTargets = ['user', 'txn', 'agent', 'jti'] as const;
export type RevocationTarget = (typeof revocationTargets)[number];

/** A revocation as requested: by the admin API (JSON) or `mandate revoke` (flags). */
export interface RevocationRequest {
  readonly target: RevocationTarget;
  readonly value: string;
  /** Why: required, so the audit trail can answer it. */
  readonly reason: string;
  /**
   * `jti` only, optional: the revoked token's `exp` (ms), when the caller has the token. Without it the
   * revocation lasts as long as any token the gateway accepts can live (see `jtiRevocationExpiry`).
   */
  readonly tokenExpiresAtMs?: number;
}

/** A revocation as stored: who revoked what, when and why. */
export interface Revocation extends RevocationRequest {
  /** Row id in the state database, increasing; 0 for one the database refused (in memory only). */
  readonly id: number;
  readonly revokedAtMs: number;
  /** The admin key's name (admin API) or `cli:<os user>` (`mandate revoke`). */
  readonly revokedBy: string;
  /** `jti` only: when the revoked token can no longer be accepted anyway, so the revocation may be pruned. Null: never. */
  readonly expiresAtMs: number | null;
}

/** The token limits that bound a jti revocation (routes.yaml `gateway.tokens`). */
export interface TokenLimits {
  readonly max_lifetime_seconds: number;
  readonly clock_skew_seconds: number;
}

/**
 * When a jti revocation stops mattering: once the token is past `exp` plus the clock leeway, the
 * proxy and the token endpoint refuse it as expired. Given the token's `exp`, that; given only the
 * jti, the longest a token the gateway accepts can live (`max_lifetime_seconds`) from now — a token
 * already in circulation expires within it. Null (never) for the other targets.
 */
export function jtiRevocationExpiry(
  request: RevocationRequest,
  revokedAtMs: number,
  limits: TokenLimits,
): number | null {
  if (request.target !== 'jti') return null;
  const expiresAtMs = request.tokenExpiresAtMs ?? revokedAtMs + limits.max_lifetime_seconds * 1000;
  return expiresAtMs + limits.clock_skew_seconds * 1000;
}

/** The facts of a token that revocation looks at; the token endpoint builds one from its claims. */
export interface RevocationSubject {
  readonly jti: string;
  /** `sub`; null for a token with no user (a background agent). */
  readonly user: string | null;
  /** Every actor's `sub` on the chain, current first. */
  readonly agents: readonly string[];
  readonly txn: string | null;
  /** `iat`, seconds since the epoch. */
  readonly issuedAtSeconds: number;
}

const MAX_VALUE = 1024;
const MAX_REASON = 1000;

/**
 * Validates a revocation request from the admin API's JSON body (`{"target", "value", "reason"}`) or
 * the CLI's flags; throws MANDATE_REQUEST_MALFORMED naming what is wrong.
 */
export function parseRevocationRequest(input: unknown): RevocationRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw malformed('expected a JSON object {"target", "value", "reason"}');
  }
  const { target, value, reason, expires_at: expiresAt, ...rest } = input as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw malformed(`unknown field(s): ${unknown.join(', ')}`);
  if (!revocationTargets.includes(target as RevocationTarget)) {
    throw malformed(`target: expected one of ${revocationTargets.join(', ')}`);
  }
  const request = {
    target: target as RevocationTarget,
    value: text('value', value, MAX_VALUE),
    reason: text('reason', reason, MAX_REASON),
  };
  if (expiresAt === undefined) return request;
  if (target !== 'jti') throw malformed("expires_at: only for target jti (the revoked token's exp)");
  if (!Number.isSafeInteger(expiresAt) || (expiresAt as number) <= 0) {
    throw malformed("expires_at: the revoked token's exp, in seconds since the epoch");
  }
  return { ...request, tokenExpiresAtMs: (expiresAt as number) * 1000 };
}

function text(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') throw malformed(`${field}: a non-empty string is required`);
  if (value.length > max) throw malformed(`${field}: at most ${max} characters`);
  return value;
}

const malformed = (detail: string) => new MandateError('MANDATE_REQUEST_MALFORMED', detail);

/** A revocation as the admin API and `mandate revocations list --format json` show it. */
export function revocationJson(revocation: Revocation): Record<string, unknown> {
  return {
    id: revocation.id,
    target: revocation.target,
    value: revocation.value,
    reason: revocation.reason,
    revoked_at: new Date(revocation.revokedAtMs).toISOString(),
    revoked_by: revocation.revokedBy,
    // jti only: when it is pruned (the token could no longer be accepted anyway).
    expires_at: revocation.expiresAtMs === null ? null : new Date(revocation.expiresAtMs).toISOString(),
  };
}
