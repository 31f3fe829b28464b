import type { IncomingMessage } from 'node:http';
import { authenticateAdmin } from '../admin/admin-auth.ts';
import { authenticateApprover } from '../approvals/approver.ts';
import { MandateError } from '../errors.ts';
import type { Gateway } from '../gateway.ts';
import type { TaskStateVia } from './limit-types.ts';

/** Who is suspending or resuming a task through the tasks API. */
export interface TaskActor {
  /** The admin key's name, or `user:<sub>`. */
  readonly by: string;
  readonly via: Extract<TaskStateVia, 'admin_api' | 'user'>;
}

/**
 * An admin (an admin API key with role `admin`) or the task's own user, authenticated as herself with
 * her identity provider's access token exactly as an approver is (gateway/approvals/approver.ts: never
 * a delegation token, so an agent cannot resume the task it ran away with). The task's user is the one
 * its suspension names, else the one first seen with the task; a task with neither only an admin can
 * touch.
 *
 * @throws MandateError MANDATE_ADMIN_FORBIDDEN for an admin key without the role; the approver's
 *   refusals (MANDATE_AUTHN_CREDENTIAL_MISSING, MANDATE_APPROVER_UNAUTHENTICATED,
 *   MANDATE_APPROVER_IS_AGENT); MANDATE_TASK_FORBIDDEN for a user whose task it is not.
 */
export async function authenticateTaskActor(gw: Gateway, req: IncomingMessage, txn: string): Promise<TaskActor> {
  try {
    return { by: authenticateAdmin(gw, req, 'admin').name, via: 'admin_api' };
  } catch (e) {
    // A known key lacking the role is refused as such; anything else may be the user's own token.
    if (!(e instanceof MandateError) || e.code === 'MANDATE_ADMIN_FORBIDDEN') throw e;
  }
  const tokens = gw.config.gateway.tokens;
  const approver = await authenticateApprover(
    gw.approvals,
    req,
    { maxBytes: tokens.max_bytes, clockSkewSeconds: tokens.clock_skew_seconds },
    gw.now(),
  );
  const owner = gw.limits.suspensions.suspension(txn)?.user ?? gw.limits.taskUser(txn);
  if (owner === null || owner !== approver.user) {
    throw new MandateError('MANDATE_TASK_FORBIDDEN', 'this task is not yours');
  }
  return { by: `user:${approver.user}`, via: 'user' };
}
