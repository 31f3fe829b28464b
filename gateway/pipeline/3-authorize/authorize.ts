import { MandateError } from '../../errors.ts';
import type { LimitsInput } from '../../limits/limits-input.ts';
import type { Principal } from '../1-authenticate/principal.ts';
import type { RequestAttributes } from '../2-resolve/request-attributes.ts';
import type { RouteMatch } from '../2-resolve/route-match.ts';
import type { Decision } from './decision.ts';
import type { PolicyEngine } from './engine.ts';
import { buildPolicyInput } from './policy-input.ts';

/**
 * Asks the route's policy whether this principal may perform this action.
 *
 * @param nowMs When the request was received, milliseconds since the epoch.
 * @param attributes The query parameters and body fields the route exposes to policy.
 * @param limits The call's limit counters and maxima (`input.limits`).
 * @returns The decision, when it allows.
 * @throws MandateError MANDATE_AUTHZ_DENIED (403) carrying the policy's reasons when it denies;
 *   MANDATE_AUTHZ_POLICY_ERROR (500) when the policy gives no well-formed answer.
 */
export function authorize(
  engine: PolicyEngine,
  principal: Principal,
  match: RouteMatch,
  method: string,
  nowMs: number,
  attributes: RequestAttributes,
  limits: LimitsInput | null = null,
): Decision {
  const decision = engine.evaluate(buildPolicyInput(principal, match, method, nowMs, attributes, limits));
  if (!decision.allow) throw new MandateError('MANDATE_AUTHZ_DENIED', undefined, { policyReasons: decision.reasons });
  return decision;
}
