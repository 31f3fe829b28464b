/**
 * A row of the `calls` view (views.ts): one proxy call, its decision and its outcome together. An
 * allowed call's `seq` and `time` are its decision event's, `outcome_seq` and `finished` its outcome
 * event's (null if none was written); a refused call is its one denial or error event.
 */
export interface CallRow {
  readonly seq: number;
  readonly time: string;
  readonly finished: string | null;
  readonly correlation_id: string;
  /** On whose behalf: the token's subject. */
  readonly user: string | null;
  /** The agent that made the call; `actor_chain` has every agent between it and the user. */
  readonly agent: string | null;
  readonly actor_chain: string | null;
  readonly txn: string | null;
  readonly intent: string | null;
  readonly action: string | null;
  readonly resource_type: string | null;
  readonly resource_id: string | null;
  /** `type:id`. */
  readonly resource: string | null;
  readonly method: string;
  readonly path: string;
  readonly backend: string | null;
  readonly decision: 'allow' | 'deny' | null;
  readonly status: number | null;
  readonly reason: string | null;
  readonly policy_reasons: string;
  readonly policy_revision: string | null;
  readonly credential: string | null;
  readonly duration_ms: number | null;
  readonly bytes_in: number | null;
  readonly bytes_out: number | null;
  readonly outcome_seq: number | null;
}

/** The view's columns, in order (what json and csv output carry). */
export const callColumns = [
  'seq',
  'time',
  'finished',
  'correlation_id',
  'user',
  'agent',
  'actor_chain',
  'txn',
  'intent',
  'action',
  'resource_type',
  'resource_id',
  'resource',
  'method',
  'path',
  'backend',
  'decision',
  'status',
  'reason',
  'policy_reasons',
  'policy_revision',
  'credential',
  'duration_ms',
  'bytes_in',
  'bytes_out',
  'outcome_seq',
] as const satisfies readonly (keyof CallRow)[];

// Fails the typecheck if a CallRow field is missing from callColumns.
const everyColumnListed: [Exclude<keyof CallRow, (typeof callColumns)[number]>] extends [never] ? true : never = true;
void everyColumnListed;
