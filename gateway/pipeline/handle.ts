import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway } from '../gateway.ts';
import { asMandateError, sendProblem } from '../problem.ts';
import { log } from '../telemetry/log.ts';
import { continueOrStartTrace, traceparentFor } from '../telemetry/trace-context.ts';
import { inStage, startRequestSpan, upstreamSpanId } from '../telemetry/tracing.ts';
import { assertAudience } from './1-authenticate/audience.ts';
import { authorize } from './3-authorize/authorize.ts';
import { buildUpstreamHeaders } from './4-inject/upstream-headers.ts';
import { forward } from './5-forward/forward.ts';
import { AuditTrail } from './audit-trail.ts';

/**
 * The request pipeline: the only place that knows the order of the stages. Every path out of it
 * leaves exactly one audit event (refusal) or two (an allowed call: decision, then outcome), and
 * nothing reaches a backend unless its decision event is committed first.
 */
export async function handle(gw: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const trace = continueOrStartTrace(req.headers.traceparent);
  const { span, ctx } = startRequestSpan(trace, 'mandate.request');
  res.setHeader('x-mandate-correlation-id', trace.traceId);
  const trail = new AuditTrail(gw.audit, req, trace.traceId, gw.now());
  try {
    // 1. Who: a verified delegation token. Its audience is checked once the backend is known.
    const principal = await inStage(ctx, 'mandate.authenticate', () => gw.authenticator.authenticate(req));
    trail.principal = principal;

    // 2. What: the business action and resource, from the canonical path (the path audited and forwarded).
    const match = inStage(ctx, 'mandate.resolve', () => gw.routes.resolve(req.method ?? '', req.url ?? ''));
    trail.match = match;
    // Before policy, so a policy never evaluates a token minted for another backend (RFC 9068 §4).
    assertAudience(principal, match.backend.audience);

    // 3. May they: Rego compiled to Wasm, in-process. Deny and error both stop here.
    trail.decision = inStage(ctx, 'mandate.authorize', () =>
      authorize(gw.policy, principal, match, req.method ?? '', gw.now()),
    );

    // 4. Swap credentials. Built before the decision is recorded, so a refused header set never
    //    leaves an "allowed" event behind.
    const credential = gw.credentials.get(match.backend.name)!;
    trail.credential = credential.name;
    const headers = inStage(ctx, 'mandate.inject', () =>
      buildUpstreamHeaders({
        rawHeaders: req.rawHeaders,
        extraAllowed: match.backend.forward_headers,
        credential,
        identity: match.backend.identity_headers
          ? {
              user: principal.user,
              agent: principal.agent.sub,
              action: match.action,
              correlationId: trace.traceId,
              txn: principal.txn,
            }
          : undefined,
        traceparent: traceparentFor(trace, upstreamSpanId(span)),
        peerAddress: req.socket.remoteAddress,
      }),
    );

    // 6a. The allow is committed before the first byte goes upstream; if it cannot be written, this
    //     throws MANDATE_AUDIT_UNAVAILABLE and nothing is forwarded.
    await inStage(ctx, 'mandate.audit.decision', () => trail.recordDecision(gw.now()));

    // 5. Forward, streaming both ways.
    const outcome = await inStage(ctx, 'mandate.forward', () =>
      forward(req, res, gw.pools.get(match.backend.name), {
        method: req.method ?? '',
        path: match.upstreamPath,
        headers,
      }),
    );
    if (outcome.failure) sendProblem(res, outcome.failure, trace.traceId);

    // 6b. The outcome. The response is already on its way, so a failure here cannot stop this call:
    //     it is logged, /readyz reports the store, and the next request is refused with 503.
    try {
      await inStage(ctx, 'mandate.audit.outcome', () => trail.recordOutcome(gw.now(), outcome));
    } catch (e) {
      log.error({ correlationId: trace.traceId, code: asMandateError(e).code }, 'outcome event not recorded');
    }
  } catch (e) {
    let error = asMandateError(e);
    try {
      await trail.recordRefusal(gw.now(), error);
    } catch (auditError) {
      // An unauditable refusal is still a refusal, but the caller learns the store is down.
      error = asMandateError(auditError);
    }
    sendProblem(res, error, trace.traceId);
  } finally {
    span.end();
  }
}
