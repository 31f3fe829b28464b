/** Whose counter: a task (`txn`), an agent (current actor's `sub`) or a user (`sub`). */
export type CounterScope = 'task' | 'agent' | 'user';

/** What a counter counts: calls (per window), writes, or the sum of the calls' amounts. */
export type CounterName = 'requests' | 'writes' | 'amount';

/** The limit a call crossed, as the agent, the audit trail and `input.limits` name it. */
export type LimitName =
  | 'task.requests'
  | 'task.writes'
  | 'task.distinct_resources'
  | 'task.amount'
  | 'agent.requests'
  | 'user.requests';

/** A task ended for going unused (LimitStore.endIdleTasks): it is refused from then on. */
export interface EndedTask {
  readonly txn: string;
  /** The task's user; null for a background agent's task. */
  readonly user: string | null;
  readonly agent: string;
  /** When it was last used, as recorded by the gateways that used it. */
  readonly lastUsedMs: number;
}

/** How a suspension or resumption arrived. */
export type TaskStateVia = 'limit' | 'admin_api' | 'user' | 'cli';

/** One suspension or resumption of a task, as stored (state database table `task_states`). */
export interface TaskStateChange {
  /** Row id in the state database, increasing; 0 for one the database refused (in memory only). */
  readonly id: number;
  readonly txn: string;
  readonly state: 'suspended' | 'resumed';
  readonly atMs: number;
  /** `gateway` (a limit), the admin key's name, `user:<sub>`, or `cli:<os user>`. */
  readonly by: string;
  readonly via: TaskStateVia;
  readonly reason: string;
  /** The limit crossed, for a suspension by the gateway; null otherwise. */
  readonly limit: LimitName | null;
  /** The task's user (who may resume it besides an admin); null when unknown or a background agent's task. */
  readonly user: string | null;
}
