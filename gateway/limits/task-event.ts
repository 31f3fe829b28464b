import type { AuditEvent } from '../pipeline/6-audit/event.ts';
import { type EventOrigin, gatewayEvent } from '../pipeline/6-audit/gateway-event.ts';
import type { AuditSink } from '../pipeline/audit-trail.ts';
import { log } from '../telemetry/log.ts';
import { newTraceId } from '../telemetry/trace-context.ts';
import type { EndedTask, TaskStateChange } from './limit-types.ts';

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

/**
 * The audit event of a task ended for going unused (`task_ended`): the gateway's own work, so no
 * request; the task and its user fill `txn` and `user`, so the task's trail (`mandate audit query
 * --txn T`) says why its later calls are refused with MANDATE_TASK_ENDED.
 */
export function taskEndedEvent(task: EndedTask, atMs: number, idleDays: number): AuditEvent {
  const origin = { correlationId: newTraceId(atMs), method: 'INTERNAL', path: 'limits task clean-up', status: null };
  return gatewayEvent(
    'task_ended',
    atMs,
    origin,
    { user: task.user, agent: task.agent, txn: task.txn },
    { txn: task.txn, last_used: new Date(task.lastUsedMs).toISOString(), idle_days: idleDays },
  );
}

/**
 * Appends one `task_ended` event per task the clean-up ended. The tasks have ended already (in the
 * state database, exactly once across processes); an event the store refuses is logged with its txn.
 */
export function recordTasksEnded(audit: AuditSink, tasks: readonly EndedTask[], atMs: number, idleDays: number): void {
  for (const task of tasks) {
    audit.append(taskEndedEvent(task, atMs, idleDays)).catch((err: unknown) => {
      log.error({ err, txn: task.txn }, 'task ended, but its audit event was not recorded');
    });
  }
}
