/**
 * `mandate task suspend|resume <txn> [--reason R] [--config routes.yaml]`: the kill switch from the
 * command line. Writes into the state database (`gateway.state_db`), so it works whether or not a
 * gateway is running; running gateways on the same file follow within a second. Appends the
 * `task_suspended` / `task_resumed` event to the audit trail (`gateway.audit_db`). Authority is write
 * access to those files, as for `mandate revoke`; `by` is `cli:<os user>`. Resuming gives the task a
 * fresh budget.
 *
 * Prints the task's state as one JSON line. Exit codes: 0 done (or nothing to do) and audited; 1 done
 * and in effect, but the audit event could not be written; 2 usage or configuration error, or the
 * state database refused the write — nothing changed.
 *
 * @module
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { LimitStore } from '../limits/limit-store.ts';
import { taskStateEvent } from '../limits/task-event.ts';
import { TaskSuspensions } from '../limits/task-suspensions.ts';
import { appendFromCli, cliOrigin } from './cli-audit.ts';

const options = {
  reason: { type: 'string' },
  config: { type: 'string', default: 'routes.yaml' },
} as const;

export async function runTaskState(verb: 'suspend' | 'resume', args: string[]): Promise<number> {
  const usage = `usage: mandate task ${verb} <txn> [--reason R] [--config routes.yaml]`;
  let txn: string;
  let reason: string;
  let config: ReturnType<typeof loadConfig>;
  const by = `cli:${userInfo().username}`;
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    if (positionals.length !== 1 || positionals[0] === '') throw new Error('exactly one task id (txn) is required');
    txn = positionals[0]!;
    reason = values.reason ?? `${verb === 'suspend' ? 'suspended' : 'resumed'} by ${by}`;
    if (reason.trim() === '' || reason.length > 1000)
      throw new Error('--reason: a non-empty string of at most 1000 characters');
    config = loadConfig(values.config);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }

  let result: ReturnType<TaskSuspensions['change']>;
  try {
    const store = LimitStore.open(config.gateway.state_db);
    try {
      const suspensions = new TaskSuspensions(store, { now: Date.now, onResumed: () => {} });
      result = suspensions.change({
        txn,
        state: verb === 'suspend' ? 'suspended' : 'resumed',
        by,
        via: 'cli',
        reason,
        limit: null,
        user: suspensions.suspension(txn)?.user ?? store.taskUser(txn),
      });
    } finally {
      store.close();
    }
    if (!result.persisted) throw new Error('the state database refused the write');
  } catch (e) {
    process.stderr.write(`cannot store the task state in ${config.gateway.state_db}: ${(e as Error).message}\n`);
    process.stderr.write('nothing changed\n');
    return 2;
  }
  const { change, changed } = result;
  const state = verb === 'suspend' ? 'suspended' : 'active';
  process.stdout.write(`${JSON.stringify({ txn, state, changed, by: change.by, reason: change.reason })}\n`);
  if (!changed) return 0;

  const origin = { ...cliOrigin(`mandate task ${verb}`), agent: null };
  const notAudited = appendFromCli(config.gateway.audit_db, taskStateEvent(change, origin, true));
  if (notAudited !== undefined) {
    process.stderr.write(
      `task ${txn} is ${change.state} and in effect, but its audit event could not be written to ` +
        `${config.gateway.audit_db} (${notAudited})\n`,
    );
    return 1;
  }
  return 0;
}
