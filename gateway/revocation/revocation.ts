import { MandateError } from '../errors.ts';

/**
 * What a revocation names. `user` (sign-out) and `agent` refuse tokens issued at or before the
 * revocation; `txn` and `jti` refuse every token carrying that task id or token id, for good.
 */
export const revocationTargets = ['user', 'txn', 'agent', 'jti'] as const;
export type RevocationTarget = (typeof revocationTargets)[number];

/** A revocation as requested: by the admin API (JSON) or `mandate revoke` (flags). */
export interface RevocationRequest {
  readonly target: RevocationTarget;
  readonly value: string;
  /** Why: required, so the audit trail can answer it. */
  readonly reason: string;
}

/** A revocation as stored: who revoked what, when and why. */
export interface Revocation extends RevocationRequest {
  /** Row id in the state database, increasing; 0 for one the database refused (in memory only). */
  readonly id: number;
  readonly revokedAtMs: number;
  /** The admin key's name (admin API) or `cli:<os user>` (`mandate revoke`). */
  readonly revokedBy: string;
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
  const { target, value, reason, ...rest } = input as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw malformed(`unknown field(s): ${unknown.join(', ')}`);
  if (!revocationTargets.includes(target as RevocationTarget)) {
    throw malformed(`target: expected one of ${revocationTargets.join(', ')}`);
  }
  return {
    target: target as RevocationTarget,
    value: text('value', value, MAX_VALUE),
    reason: text('reason', reason, MAX_REASON),
  };
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
  };
}
