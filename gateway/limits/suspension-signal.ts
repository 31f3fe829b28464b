import { MandateError } from '../errors.ts';
import type { Principal } from '../pipeline/1-authenticate/principal.ts';
import type { TaskSuspensions } from './task-suspensions.ts';

/**
 * For what outlives one request (a WebSocket tunnel): a signal that aborts, with
 * MANDATE_TASK_SUSPENDED as its reason, when the principal's task is suspended — a limit crossed by
 * another call of the task, or the kill switch. Never aborts for a token without a `txn`. `stop` when
 * the holder is done with the token.
 */
export function suspensionSignal(
  suspensions: TaskSuspensions,
  principal: Principal,
): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  const txn = principal.txn;
  if (txn === undefined) return { signal: controller.signal, stop: () => {} };
  const stop = suspensions.watch(txn, () =>
    controller.abort(
      new MandateError('MANDATE_TASK_SUSPENDED', `the tunnel closed when task ${txn} was suspended`, {
        extensions: { txn },
      }),
    ),
  );
  return { signal: controller.signal, stop };
}
