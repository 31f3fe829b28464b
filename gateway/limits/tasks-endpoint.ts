import type { IncomingMessage } from 'node:http';
import { auditedEndpoint } from '../admin/admin-endpoint.ts';
import { readJsonBody, sendJson } from '../admin/json-body.ts';
import { MandateError } from '../errors.ts';
import type { Gateway } from '../gateway.ts';
import { sendProblem } from '../problem.ts';
import type { TaskStateChange } from './limit-types.ts';
import { authenticateTaskActor } from './task-actor.ts';
import { taskStateEvent } from './task-event.ts';

/** Prefix of the tasks API: `/_mandate/tasks/{txn}`, `…/suspend`, `…/resume`. */
export const TASKS_PATH = '/_mandate/tasks/';

const PATH = /^\/_mandate\/tasks\/([^/]{1,400})(?:\/(suspend|resume))?$/;
const MAX_REASON = 1000;

/**
 * The kill switch and its undo, for an admin (admin API key, role `admin`) or the task's own user (her
 * identity provider's access token). GET `/_mandate/tasks/{txn}`: whether the task is suspended, by
 * whom, why. POST `…/suspend` and `…/resume`, optional JSON body `{"reason": "…"}`: in force at once
 * in this gateway, stored in the state database (other gateways on it follow within a second), and an
 * audit event (`task_suspended`, `task_resumed`). A resumed task starts over with a fresh budget.
 * Suspending a suspended task (or resuming an active one) changes nothing: 200, `changed: false`.
 */
export const tasksEndpoint = auditedEndpoint(async (gw, req, res, correlationId) => {
  const path = (req.url ?? '').split('?', 1)[0]!;
  const match = PATH.exec(path);
  if (!match) throw new MandateError('MANDATE_ROUTE_NOT_FOUND');
  const txn = decodeTxn(match[1]!);
  const verb = match[2] as 'suspend' | 'resume' | undefined;
  const method = verb === undefined ? 'GET' : 'POST';
  if (req.method !== method) throw new MandateError('MANDATE_METHOD_NOT_ALLOWED', undefined, { allow: [method] });
  const actor = await authenticateTaskActor(gw, req, txn);
  if (verb === undefined) {
    sendJson(res, 200, { task: taskJson(gw, txn) });
    return;
  }
  const reason = (await readReason(req)) ?? `${verb === 'suspend' ? 'suspended' : 'resumed'} by ${actor.by}`;
  const state = verb === 'suspend' ? 'suspended' : 'resumed';
  const user = gw.limits.suspensions.suspension(txn)?.user ?? gw.limits.taskUser(txn);
  const { change, changed, persisted } = gw.limits.suspensions.change({
    txn,
    state,
    by: actor.by,
    via: actor.via,
    reason,
    limit: null,
    user,
  });
  if (changed) await record(gw, change, persisted, correlationId, path);
  // Answered here rather than thrown: the task event (when written) is this call's audit record.
  if (!persisted) {
    sendProblem(res, new MandateError('MANDATE_TASK_STATE_NOT_PERSISTED'), correlationId);
    return;
  }
  sendJson(res, 200, { task: taskJson(gw, txn), changed });
});

async function record(gw: Gateway, change: TaskStateChange, persisted: boolean, correlationId: string, path: string) {
  const origin = { correlationId, method: 'POST', path, agent: null, status: persisted ? 200 : 503 };
  try {
    await gw.audit.append(taskStateEvent(change, origin, persisted));
  } catch (cause) {
    throw new MandateError(
      'MANDATE_AUDIT_UNAVAILABLE',
      `the task is ${change.state}, but its audit event could not be written`,
      { cause },
    );
  }
}

function taskJson(gw: Gateway, txn: string): Record<string, unknown> {
  const suspension = gw.limits.suspensions.suspension(txn);
  return {
    txn,
    state: suspension === undefined ? 'active' : 'suspended',
    user: suspension?.user ?? gw.limits.taskUser(txn),
    suspension:
      suspension === undefined
        ? null
        : {
            at: new Date(suspension.atMs).toISOString(),
            by: suspension.by,
            via: suspension.via,
            reason: suspension.reason,
            limit: suspension.limit,
          },
  };
}

function decodeTxn(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new MandateError('MANDATE_REQUEST_MALFORMED', 'the task id is not valid percent-encoding');
  }
}

/** The optional `{"reason": "…"}`; no body at all is fine. */
async function readReason(req: IncomingMessage): Promise<string | undefined> {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return undefined;
  const body = await readJsonBody(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new MandateError('MANDATE_REQUEST_MALFORMED', 'expected a JSON object {"reason"}');
  }
  const { reason, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0)
    throw new MandateError('MANDATE_REQUEST_MALFORMED', `unknown field(s): ${Object.keys(rest).join(', ')}`);
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON) {
    throw new MandateError(
      'MANDATE_REQUEST_MALFORMED',
      `reason: a non-empty string of at most ${MAX_REASON} characters`,
    );
  }
  return reason;
}
