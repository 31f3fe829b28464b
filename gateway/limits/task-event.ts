import type { AuditEvent } from '../pipeline/6-audit/event.ts';
import { type EventOrigin, gatewayEvent } from '../pipeline/6-audit/gateway-event.ts';
import type { TaskStateChange } from './limit-types.ts';

/** Where a suspension or resumption was asked for: the call that crossed a limit, the tasks API, or the CLI. */
export interface TaskStateOrigin extends EventOrigin {
  /** The agent whose call crossed a limit; null otherwise. */
  readonly agent: string | null;
  /** For a crossed limit: the maximum, and the counter's value when it was reached. */
  readonly limitMax?: number;
}

/**
 * The audit event of a task suspended (`task_suspended`) or resumed (`task_resumed`). The task fills
 * the `txn` column and its user the `user` column, so `mandate audit query --txn T` shows the calls,
 * the suspension and the resumption together; the facts are in `detail`.
 */
export function taskStateEvent(change: TaskStateChange, origin: TaskStateOrigin, persisted: boolean): AuditEvent {
  return gatewayEvent(
    change.state === 'suspended' ? 'task_suspended' : 'task_resumed',
    change.atMs,
    origin,
    { user: change.user, agent: origin.agent, txn: change.txn },
    {
      txn: change.txn,
      state: change.state,
      by: change.by,
      via: change.via,
      reason: change.reason,
      limit: change.limit,
      ...(origin.limitMax === undefined ? {} : { limit_max: origin.limitMax }),
      // null when the state database refused it: in effect in the gateway process only.
      task_state_id: persisted ? change.id : null,
    },
  );
}
