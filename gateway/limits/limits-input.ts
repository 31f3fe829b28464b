/**
 * `input.limits` in the policy input: this call's task, agent and user counters before the call is
 * counted, with the configured maxima (null: not limited), so a policy can be stricter than the
 * limits — e.g. refuse a write once a task has read more than 50 contracts.
 *
 * @example
 * ```json
 * {
 *   "window_seconds": 60,
 *   "task": {
 *     "txn": "task-8841",
 *     "requests": { "count": 12, "max": 30 },
 *     "writes": { "count": 1, "max": 5 },
 *     "distinct_resources": { "count": 3, "max": 20 },
 *     "amount": { "count": 1200, "max": 50000 }
 *   },
 *   "agent": { "id": "procurement-assistant", "requests": { "count": 40, "max": 600 } },
 *   "user": { "id": "alice", "requests": { "count": 41, "max": 300 } }
 * }
 * ```
 */
export interface LimitsInput {
  /** Length of the fixed windows `requests` are counted in. */
  readonly window_seconds: number;
  /** Null for a token without a `txn`. `requests` counts the current window; the rest the task's life. */
  readonly task: {
    readonly txn: string;
    readonly requests: LimitCount;
    readonly writes: LimitCount;
    readonly distinct_resources: LimitCount;
    readonly amount: LimitCount;
  } | null;
  readonly agent: { readonly id: string; readonly requests: LimitCount };
  /** Null for a background agent's token (no user). */
  readonly user: { readonly id: string; readonly requests: LimitCount } | null;
}

export interface LimitCount {
  readonly count: number;
  /** The configured maximum; null when that limit is not configured. */
  readonly max: number | null;
}
