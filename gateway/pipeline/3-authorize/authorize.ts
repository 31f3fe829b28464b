import { MandateError } from '../../errors.ts';
import type { Decision } from './decision.ts';
import type { PolicyEngine } from './engine.ts';
import type { PolicyInput } from './policy-input.ts';

/**
 * Asks the route's policy whether the request the input describes may go ahead.
 *
 * @param input The call as policy sees it, built by `buildPolicyInput` (policy-input.ts), the only
 *   place that decides what reaches a policy.
 * @returns The decision, when it allows.
 * @throws MandateError MANDATE_AUTHZ_DENIED (403) carrying the policy's reasons when it denies;
 *   MANDATE_AUTHZ_POLICY_ERROR (500) when the policy gives no well-formed answer.
 */
export function authorize(engine: PolicyEngine, input: PolicyInput): Decision {
  const decision = engine.evaluate(input);
  if (!decision.allow) throw new MandateError('MANDATE_AUTHZ_DENIED', undefined, { policyReasons: decision.reasons });
  return decision;
}
