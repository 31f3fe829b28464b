import type { PolicyEngine } from '../pipeline/3-authorize/engine.ts';
import { OAuthError, type OAuthErrorCode } from './oauth-error.ts';
import type { ExchangeFacts } from './token-event.ts';

export const EXCHANGE_ENTRYPOINT = 'mandate/exchange/decision';

/**
 * Asks `mandate/exchange/decision` (rego/exchange/) and returns what it grants. Three outcomes, as
 * for the proxy: granted; refused (the first reason's area picks the OAuth error); or a policy error
 * — undefined or malformed result — which refuses too (fail closed).
 */
export function decideExchange(
  engine: PolicyEngine,
  input: object,
  facts: ExchangeFacts,
): { scopes: string[]; details: Record<string, unknown>[] } {
  facts.policyRevision = engine.revision;
  let result: unknown;
  try {
    result = engine.evaluateEntrypoint(EXCHANGE_ENTRYPOINT, input);
  } catch (cause) {
    throw new OAuthError('invalid_request', 'policy.error', { cause });
  }
  const { allow, reasons, scopes, authorization_details: details } = (result ?? {}) as Record<string, unknown>;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (typeof allow !== 'boolean' || !strings(reasons) || !strings(scopes) || !Array.isArray(details)) {
    throw new OAuthError('invalid_request', 'policy.error');
  }
  facts.policyReasons = reasons;
  if (!allow || reasons.length > 0) {
    throw new OAuthError(errorFor(reasons), 'policy.denied', { policyReasons: reasons });
  }
  return { scopes, details: details as Record<string, unknown>[] };
}

// Request-level refusals (may_act, delegation, background) first, as RFC 8693 §2.2.2
// invalid_request; then RFC 8707 §2 invalid_target, RFC 6749 §5.2 invalid_scope, RFC 9396 §5
// invalid_authorization_details.
function errorFor(reasons: readonly string[]): OAuthErrorCode {
  const has = (area: string) => reasons.some((r) => r.startsWith(area));
  if (reasons.some((r) => !/^(target|scope|details)\./.test(r))) return 'invalid_request';
  if (has('target.')) return 'invalid_target';
  if (has('scope.')) return 'invalid_scope';
  return 'invalid_authorization_details';
}
