import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminRole } from '../config/schema.ts';
import type { EndpointHandler } from '../endpoints.ts';
import type { Gateway } from '../gateway.ts';
import { AuditTrail } from '../pipeline/audit-trail.ts';
import { asMandateError, sendProblem } from '../problem.ts';
import { log } from '../telemetry/log.ts';
import { continueOrStartTrace } from '../telemetry/trace-context.ts';
import { type AdminPrincipal, authenticateAdmin } from './admin-auth.ts';

/** One authenticated call to an admin or auditor endpoint. */
export interface AdminCall {
  readonly admin: AdminPrincipal;
  /** W3C trace id; also `X-Mandate-Correlation-Id` and the audit rows' `correlation_id`. */
  readonly correlationId: string;
}

export type AdminHandler = (gw: Gateway, req: IncomingMessage, res: ServerResponse, call: AdminCall) => Promise<void>;

/**
 * Wraps an admin or auditor endpoint: correlation id, `authenticateAdmin` with `role`, and for every
 * refusal — no admin API, no or wrong key, missing role, bad request — one audit event (`denial`, or
 * `error` for 5xx) like a refused proxy call, then `application/problem+json`. The handler answers
 * success itself, and records its own audit events.
 */
export function adminEndpoint(role: AdminRole, handler: AdminHandler): EndpointHandler {
  return auditedEndpoint((gw, req, res, correlationId) =>
    handler(gw, req, res, { admin: authenticateAdmin(gw, req, role), correlationId }),
  );
}

/**
 * The refusal handling of `adminEndpoint`, for an endpoint that authenticates its callers itself (the
 * tasks API admits an admin key or the task's user; the approvals API and page, the user herself):
 * correlation id, and every thrown refusal audited like a refused proxy call, then answered as
 * `application/problem+json`. `surface` names the endpoint in the log line of an unaudited refusal.
 */
export function auditedEndpoint(
  handler: (gw: Gateway, req: IncomingMessage, res: ServerResponse, correlationId: string) => Promise<void>,
  surface = 'admin',
): EndpointHandler {
  return async (gw, req, res) => {
    const correlationId = continueOrStartTrace(req.headers.traceparent).traceId;
    res.setHeader('x-mandate-correlation-id', correlationId);
    const startedMs = gw.now();
    try {
      await handler(gw, req, res, correlationId);
    } catch (e) {
      const error = asMandateError(e);
      try {
        await new AuditTrail(gw.audit, req, correlationId, startedMs).recordRefusal(gw.now(), error);
      } catch (auditError) {
        // The caller still learns why it was refused; operators learn the store is down (/readyz too).
        log.error({ correlationId, code: asMandateError(auditError).code }, `${surface} refusal not audited`);
      }
      sendProblem(res, error, correlationId);
    }
  };
}
