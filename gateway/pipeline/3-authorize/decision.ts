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
}
