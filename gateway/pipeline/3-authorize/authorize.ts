import { MandateError } from '../../errors.ts';
import type { Principal } from '../1-authenticate/principal.ts';
import type { RouteMatch } from '../2-resolve/route-match.ts';
import type { Decision } from './decision.ts';
import type { PolicyEngine } from './engine.ts';
import { buildPolicyInput } from './policy-input.ts';

/**
 * Asks the route's policy whether this principal may perform this action.
 *
 * @param nowMs When the request was received, milliseconds since the epoch.
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
): Decision {
  const decision = engine.evaluate(buildPolicyInput(principal, match, method, nowMs));
  if (!decision.allow) throw new MandateError('MANDATE_AUTHZ_DENIED', undefined, { policyReasons: decision.reasons });
  return decision;
}
