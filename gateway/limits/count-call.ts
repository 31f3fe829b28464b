import { MandateError } from '../errors.ts';
import type { Principal } from '../pipeline/1-authenticate/principal.ts';
import type { RouteMatch } from '../pipeline/2-resolve/route-match.ts';
import type { AuditSink } from '../pipeline/audit-trail.ts';
import { assertTaskActive } from './assert-task-active.ts';
import type { Crossing, Limits } from './limits.ts';
import { taskStateEvent } from './task-event.ts';

/** The call being counted: who, what, and the attributes its amount is read from. */
export interface CountedCall {
  readonly principal: Principal;
  readonly match: RouteMatch;
  readonly attributes: Readonly<Record<string, unknown>> | null | undefined;
  readonly method: string;
  readonly correlationId: string;
  readonly nowMs: number;
}

/**
 * Stage 3c: counts an allowed call against the limits, after policy and approval and before anything
 * is injected, recorded or forwarded. A call that would cross a limit is refused with 429
 * MANDATE_LIMIT_EXCEEDED (naming the limit; `Retry-After` for a per-window limit) and its task is
 * suspended, the suspension committed to the state database and the audit trail before the answer.
 */
export async function countCall(limits: Limits, audit: AuditSink, call: CountedCall): Promise<void> {
  const { principal, match } = call;
  // Again: the task may have been suspended while this call was in policy or approval.
  assertTaskActive(limits.suspensions, principal);
  const crossing = await limits.countDurably(principal, match, call.attributes, call.nowMs);
  if (crossing === undefined) return;
  const txn = principal.txn;
  if (txn !== undefined) await suspend(limits, audit, call, txn, crossing);
  throw new MandateError('MANDATE_LIMIT_EXCEEDED', describe(crossing, txn), {
    extensions: { limit: crossing.limit, ...(txn === undefined ? {} : { txn }) },
    ...(crossing.windowEndsMs === null
      ? {}
      : { retryAfterSeconds: Math.max(1, Math.ceil((crossing.windowEndsMs - call.nowMs) / 1000)) }),
  });
}

async function suspend(limits: Limits, audit: AuditSink, call: CountedCall, txn: string, crossing: Crossing) {
  const { principal } = call;
  const { change, changed, persisted } = limits.suspensions.change({
    txn,
    state: 'suspended',
    by: 'gateway',
    via: 'limit',
    reason: `limit ${crossing.limit} reached (${crossing.max})`,
    limit: crossing.limit,
    user: limits.taskUser(txn) ?? (principal.noUser ? null : principal.user),
  });
  // Only the call that suspended the task records the suspension; a concurrent one just crossed too.
  if (!changed) return;
  await audit.append(
    taskStateEvent(
      change,
      {
        correlationId: call.correlationId,
        method: call.method,
        path: call.match.path,
        agent: principal.agent.sub,
        status: 429,
        limitMax: crossing.max,
      },
      persisted,
    ),
  );
}

function describe(crossing: Crossing, txn: string | undefined): string {
  const what = `${crossing.limit} (${crossing.max})`;
  return txn === undefined
    ? `limit ${what} reached`
    : `limit ${what} reached; task ${txn} is suspended until its user or an admin resumes it`;
}
