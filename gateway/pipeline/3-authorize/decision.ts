/**
 * The policy's answer. Three outcomes exist (allowed, denied, error); errors never produce a
 * Decision: they throw MANDATE_AUTHZ_POLICY_ERROR, which denies.
 */
export interface Decision {
  readonly allow: boolean;
  /** Reasons from Rego (e.g. "intent.contract_mismatch"), shown to the agent and audited. */
  readonly reasons: readonly string[];
  /** SHA-256 of the Wasm bundle that decided. */
  readonly policyRevision: string;
  /**
   * The policy's optional `approval_required`: true holds an allowed call for the user's approval,
   * false waives the approval a route of tier `approval` would otherwise need, undefined leaves it to
   * the tier. Meaningless on a denial: a denied call is never held for approval.
   */
  readonly approvalRequired?: boolean;
}
