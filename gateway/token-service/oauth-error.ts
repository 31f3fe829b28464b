import { asMandateError } from '../problem.ts';

/**
 * A refusal at the token endpoint, answered per RFC 6749 §5.2 / RFC 8693 §2.2.2 — not with the
 * proxy's problem+json catalogue. `reason` (`area.condition`) is what the audit row records; the
 * caller sees only `error` and a fixed description, so an invalid token and a policy refusal give
 * the same body (GW-TX-10) and nothing internal leaks.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_target'
  | 'invalid_scope'
  | 'invalid_authorization_details'
  | 'unsupported_grant_type'
  | 'temporarily_unavailable';

const DESCRIPTIONS: Record<OAuthErrorCode, string> = {
  invalid_request: 'The request, its subject_token or its actor_token is invalid or not acceptable',
  invalid_client: 'Client authentication failed',
  invalid_grant: 'The grant is invalid',
  invalid_target: 'No token can be issued for the requested audience or resource',
  invalid_scope: 'The requested scope exceeds what can be delegated',
  invalid_authorization_details: 'The requested authorization_details exceed what can be delegated',
  unsupported_grant_type: 'Only token exchange and, for background agents, client_credentials are supported',
  temporarily_unavailable: 'The token service cannot issue tokens right now',
};

const STATUS: Partial<Record<OAuthErrorCode, number>> = { invalid_client: 401, temporarily_unavailable: 503 };

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  /** Audit reason, e.g. `subject_token.expired`, `policy.denied`. Never shown to the caller. */
  readonly reason: string;
  /** Policy reasons, when the exchange policy refused. Audited, not returned. */
  readonly policyReasons: readonly string[];

  constructor(error: OAuthErrorCode, reason: string, options?: { cause?: unknown; policyReasons?: readonly string[] }) {
    super(`${error}: ${reason}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.error = error;
    this.reason = reason;
    this.policyReasons = options?.policyReasons ?? [];
  }

  get status(): number {
    return STATUS[this.error] ?? 400;
  }

  get description(): string {
    return DESCRIPTIONS[this.error];
  }
}

/**
 * Any thrown value as an OAuthError: unknown failures refuse (fail closed) without internals. A
 * store the exchange needs that cannot answer now (what the proxy answers with a 503, e.g. the state
 * database that claims the task) is `temporarily_unavailable`, with the proxy's audit reason: the
 * client may retry.
 */
export function asOAuthError(e: unknown): OAuthError {
  if (e instanceof OAuthError) return e;
  const { entry } = asMandateError(e);
  if (entry.status === 503) return new OAuthError('temporarily_unavailable', entry.reason, { cause: e });
  return new OAuthError('invalid_request', 'internal', { cause: e });
}
