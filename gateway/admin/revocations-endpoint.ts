import type { IncomingMessage, ServerResponse } from 'node:http';
import { MandateError } from '../errors.ts';
import type { Gateway } from '../gateway.ts';
import { sendProblem } from '../problem.ts';
import { parseRevocationRequest, revocationJson } from '../revocation/revocation.ts';
import { revocationEvent } from '../revocation/revocation-event.ts';
import { type AdminCall, adminEndpoint } from './admin-endpoint.ts';
import { readJsonBody, sendJson } from './json-body.ts';

export const REVOCATIONS_PATH = '/_mandate/admin/revocations';

/**
 * `/_mandate/admin/revocations`, role `admin`. POST `{"target": "user"|"txn"|"agent"|"jti", "value",
 * "reason"}` revokes (201 with the stored revocation); GET lists stored revocations, newest first
 * (`?limit=N`, default 100, at most 10000).
 */
export const revocationsEndpoint = adminEndpoint('admin', async (gw, req, res, call) => {
  if (req.method === 'POST') return revoke(gw, req, res, call);
  if (req.method === 'GET') return list(gw, req, res);
  throw new MandateError('MANDATE_METHOD_NOT_ALLOWED', undefined, { allow: ['GET', 'POST'] });
});

/**
 * In effect before anything can fail (the index is updated first), then stored, then audited. A
 * revocation is never lost to a failing store: if the state database or the audit store refuses it,
 * the revocation stays in force and the caller gets 503 saying which part failed, to retry.
 */
async function revoke(gw: Gateway, req: IncomingMessage, res: ServerResponse, call: AdminCall): Promise<void> {
  const request = parseRevocationRequest(await readJsonBody(req));
  const { revocation, persisted } = gw.revocations.revoke(request, call.admin.name);
  const origin = {
    correlationId: call.correlationId,
    method: 'POST',
    path: REVOCATIONS_PATH,
    via: 'admin_api',
    status: persisted ? 201 : 503,
  } as const;
  let audited = true;
  try {
    await gw.audit.append(revocationEvent(revocation, origin, persisted));
  } catch {
    audited = false;
  }
  // Answered here rather than thrown: the revocation event (when written) is this call's audit record.
  if (!persisted) {
    sendProblem(res, new MandateError('MANDATE_REVOCATION_NOT_PERSISTED'), call.correlationId);
  } else if (!audited) {
    const detail = `revocation ${revocation.id} is stored and in effect`;
    sendProblem(res, new MandateError('MANDATE_REVOCATION_NOT_AUDITED', detail), call.correlationId);
  } else {
    sendJson(res, 201, { revocation: revocationJson(revocation) });
  }
}

async function list(gw: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const limit = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('limit') ?? '100';
  if (!/^[1-9]\d{0,4}$/.test(limit) || Number(limit) > 10_000) {
    throw new MandateError('MANDATE_REQUEST_MALFORMED', 'limit: an integer from 1 to 10000');
  }
  sendJson(res, 200, { revocations: gw.revocations.list(Number(limit)).map(revocationJson) });
}
