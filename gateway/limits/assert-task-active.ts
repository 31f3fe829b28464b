import { MandateError } from '../errors.ts';
import type { Principal } from '../pipeline/1-authenticate/principal.ts';

/** What the suspension check needs to know; `Limits.suspensions` in the gateway. */
export interface SuspensionCheck {
  isSuspended(txn: string | undefined): boolean;
}

/**
 * Refuses every token of a suspended task with 403 MANDATE_TASK_SUSPENDED. Memory only, on every
 * request after authentication (and again just before a call is counted, for calls that were already
 * past this check when the task was suspended).
 */
export function assertTaskActive(suspensions: SuspensionCheck, principal: Principal): void {
  if (suspensions.isSuspended(principal.txn)) {
    throw new MandateError(
      'MANDATE_TASK_SUSPENDED',
      `task ${principal.txn} is suspended; ask your user to resume it (POST /_mandate/tasks/{txn}/resume)`,
      { extensions: { txn: principal.txn! } },
    );
  }
}
