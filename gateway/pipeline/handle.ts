import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context, Span } from '@opentelemetry/api';
import { MandateError } from '../errors.ts';
import type { Gateway } from '../gateway.ts';
import { assertTaskActive } from '../limits/assert-task-active.ts';
import { countCall } from '../limits/count-call.ts';
import { suspensionSignal } from '../limits/suspension-signal.ts';
import { asMandateError, sendProblem, writeProblem } from '../problem.ts';
import { assertNotRevoked } from '../revocation/assert-not-revoked.ts';
import { revocationSignal } from '../revocation/revocation-signal.ts';
import { log } from '../telemetry/log.ts';
import { continueOrStartTrace, type TraceContext, traceparentFor } from '../telemetry/trace-context.ts';
import { inStage, startRequestSpan, upstreamSpanId } from '../telemetry/tracing.ts';
import { assertAudience } from './1-authenticate/audience.ts';
import type { Principal } from './1-authenticate/principal.ts';
import { readRequestAttributes } from './2-resolve/request-attributes.ts';
import type { RequestBody } from './2-resolve/request-body.ts';
import type { RouteMatch } from './2-resolve/route-match.ts';
import { assertWebSocketRoute } from './2-resolve/websocket-route.ts';
import { gateApproval } from './3-authorize/approval-gate.ts';
import { authorize } from './3-authorize/authorize.ts';
import { buildPolicyInput } from './3-authorize/policy-input.ts';
import { buildUpstreamHeaders } from './4-inject/upstream-headers.ts';
import { type ForwardOutcome, forward } from './5-forward/forward.ts';
import { tunnel } from './5-forward/tunnel.ts';
import { assertWebSocketHandshake, WEBSOCKET_HANDSHAKE_HEADERS } from './5-forward/websocket-handshake.ts';
import { AuditTrail } from './audit-trail.ts';

/**
 * The request pipeline: the only place that knows the order of the stages. Every path out of it
 * leaves exactly one audit event (refusal) or two (an allowed call: decision, then outcome), and
 * nothing reaches a backend unless its decision event is committed first.
 */
export async function handle(gw: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const call = startCall(gw, req);
  try {
    const { match, headers, body } = await admit(gw, req, call, 'http');

    // 5. Forward, streaming both ways; a body read in 2b goes as the very bytes the policy judged.
    const outcome = await inStage(call.ctx, 'mandate.forward', () =>
      forward(req, res, gw.pools.get(match.backend.name), {
        method: req.method ?? '',
        path: match.upstreamPath,
        headers,
        body: body?.bytes,
        correlationId: call.trace.traceId,
      }),
    );
    if (outcome.failure) sendProblem(res, outcome.failure, call.trace.traceId);
    await recordOutcome(gw, call, outcome);
  } catch (e) {
    sendProblem(res, await recordRefusal(gw, call, e), call.trace.traceId, gw.resources.metadataUrlFor(req.url ?? ''));
  } finally {
    call.span.end();
  }
}

/**
 * An HTTP/1.1 upgrade: the same stages and audit events as `handle`, then a WebSocket tunnel instead
 * of one exchange. Node has handed over the raw connection, so a refusal is written onto it as an
 * HTTP response and the connection closed; the outcome event is written when the tunnel closes.
 */
export async function handleUpgrade(gw: Gateway, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const call = startCall(gw, req);
  try {
    // Request shape, before any credential is looked at: only WebSocket is tunnelled, never h2c.
    assertWebSocketHandshake(req);
    const { principal, match, headers } = await admit(gw, req, call, 'websocket');

    // 5. Tunnel: the backend's 101, then frames both ways until a side closes. A new request with this
    //    token would be refused after exp plus the clock leeway; so is the tunnel, then. A backend
    //    failure before its answer is answered by `tunnel` itself: http-proxy-3 closes the connection
    //    as soon as it has reported one.
    //    Likewise once the token is revoked (by jti, user, task or agent) or its task suspended (a limit
    //    crossed by another call, the kill switch): at once when done here, else within the state poll.
    const backend = match.backend;
    const expiresMs = (principal.expiresAt + gw.config.gateway.tokens.clock_skew_seconds) * 1000;
    const revoked = revocationSignal(gw.revocations, principal);
    const suspended = suspensionSignal(gw.limits.suspensions, principal);
    const outcome = await inStage(call.ctx, 'mandate.tunnel', () =>
      tunnel(req, socket, head, {
        origin: new URL(backend.url).origin,
        path: match.upstreamPath,
        headers,
        correlationId: call.trace.traceId,
        connectTimeoutMs: backend.timeouts.connect_ms,
        handshakeTimeoutMs: backend.timeouts.headers_ms,
        lifetimeMs: expiresMs - gw.now(),
        cut: AbortSignal.any([revoked.signal, suspended.signal]),
      }),
    ).finally(() => {
      revoked.stop();
      suspended.stop();
    });
    await recordOutcome(gw, call, outcome);
  } catch (e) {
    writeProblem(
      socket,
      await recordRefusal(gw, call, e),
      call.trace.traceId,
      gw.resources.metadataUrlFor(req.url ?? ''),
    );
  } finally {
    call.span.end();
  }
}

/** One call through the gateway: its trace, its request span, and what its audit trail has learned. */
interface Call {
  readonly trace: TraceContext;
  readonly span: Span;
  readonly ctx: Context;
  readonly trail: AuditTrail;
}

function startCall(gw: Gateway, req: IncomingMessage): Call {
  const trace = continueOrStartTrace(req.headers.traceparent);
  const { span, ctx } = startRequestSpan(trace, 'mandate.request');
  return { trace, span, ctx, trail: new AuditTrail(gw.audit, req, trace.traceId, gw.now()) };
}

/**
 * Stages 1–4 and 6a, the same for a request and an upgrade. Returns once the allow is committed;
 * throws the refusal otherwise.
 */
async function admit(
  gw: Gateway,
  req: IncomingMessage,
  { trace, span, ctx, trail }: Call,
  protocol: 'http' | 'websocket',
): Promise<{
  principal: Principal;
  match: RouteMatch;
  headers: Record<string, string>;
  body: RequestBody | undefined;
}> {
  // 1. Who: a verified delegation token. Its audience is checked once the backend is known.
  const principal = await inStage(ctx, 'mandate.authenticate', () => gw.authenticator.authenticate(req));
  trail.principal = principal;
  // 1b. Still valid: not revoked by jti, user, task or agent. After the token cache, on every call, so
  //     a revocation takes effect on the very next request even for a token verified a moment ago.
  assertNotRevoked(gw.revocations, principal);
  // 1c. Its task is not suspended (a limit crossed, or the kill switch): every token of the task is
  //     refused from the moment of the suspension until its user or an admin resumes it. Memory only.
  assertTaskActive(gw.limits.suspensions, principal);

  // 2. What: the business action and resource, from the canonical path (the path audited and forwarded).
  const match = inStage(ctx, 'mandate.resolve', () => gw.routes.resolve(req.method ?? '', req.url ?? ''));
  trail.match = match;
  // A tunnel outlives this one decision: only a route that opted in may open one.
  if (protocol === 'websocket') assertWebSocketRoute(match);
  // Before policy, so a policy never evaluates a token minted for another backend (RFC 9068 §4).
  assertAudience(principal, match.backend.audience);

  // 2b. What exactly: the query parameters and bounded JSON body the route exposes, for the policy to
  //     bind the intent to. After authentication and the audience check, so only a token for this
  //     backend can make the gateway hold a body in memory.
  const attributes = await inStage(ctx, 'mandate.attributes', () => readRequestAttributes(req, match));
  trail.bodySha256 = attributes.body?.sha256;

  // 3. May they: Rego compiled to Wasm, in-process. Deny and error both stop here. One clock reading
  //    for the input's time and the limits window it reports.
  const decidedMs = gw.now();
  trail.decision = inStage(ctx, 'mandate.authorize', () =>
    authorize(
      gw.policy,
      buildPolicyInput(
        principal,
        match,
        req.method ?? '',
        decidedMs,
        attributes,
        gw.limits.snapshot(principal, decidedMs),
      ),
    ),
  );
  // 3b. Held for the user: a call its tier or the policy sends for approval goes on only with the
  //     user's approval of this exact request, taken here once. After the allow (approval never widens
  //     what policy allows), before inject and the decision event (nothing forwarded without it).
  const approval = await inStage(ctx, 'mandate.approval', () =>
    gateApproval(gw.approvals, gw.audit, req, {
      principal,
      match,
      method: req.method ?? '',
      decision: trail.decision!,
      body: attributes.body?.bytes,
      correlationId: trace.traceId,
      nowMs: gw.now(),
    }),
  );
  try {
    // 3c. Counted against the behavioural limits: only calls about to be forwarded spend budget. Crossing
    //     one refuses with 429 and suspends the task; the count is reserved in the state database before
    //     the decision is recorded, so no crash or restart can let more than a limit through.
    await inStage(ctx, 'mandate.limits', () =>
      countCall(gw.limits, gw.audit, {
        principal,
        match,
        attributes: attributes.body?.fields,
        method: req.method ?? '',
        correlationId: trace.traceId,
        nowMs: gw.now(),
      }),
    );

    // 4. Swap credentials. Built before the decision is recorded, so a refused header set never
    //    leaves an "allowed" event behind.
    const credential = gw.credentials.get(match.backend.name)!;
    trail.credential = credential.name;
    const headers = inStage(ctx, 'mandate.inject', () =>
      buildUpstreamHeaders({
        rawHeaders: req.rawHeaders,
        // A handshake's Sec-WebSocket-* fields are the backend's to answer.
        extraAllowed:
          protocol === 'websocket'
            ? [...match.backend.forward_headers, ...WEBSOCKET_HANDSHAKE_HEADERS]
            : match.backend.forward_headers,
        credential,
        identity: match.backend.identity_headers
          ? {
              user: principal.noUser ? null : principal.user,
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

    // 6a. The allow (after the approval's use) is committed before the first byte goes upstream; if it
    //     cannot be written, this throws MANDATE_AUDIT_UNAVAILABLE and nothing is forwarded.
    await inStage(ctx, 'mandate.audit.decision', async () => {
      await approval?.record(gw.now());
      await trail.recordDecision(gw.now());
    });
    return { principal, match, headers, body: attributes.body };
  } catch (e) {
    // An approval is spent only by a call that goes upstream: one refused after 3b took it (a limit,
    // inject, the audit store) gives it back, so the retry can follow once the cause is gone.
    approval?.release();
    throw e;
  }
}

/**
 * 6b. The outcome. The response (or the tunnel) has already happened, so a failure here cannot stop
 * this call: it is logged, /readyz reports the store, and the next request is refused with 503.
 */
async function recordOutcome(gw: Gateway, { trace, ctx, trail }: Call, outcome: ForwardOutcome): Promise<void> {
  try {
    await inStage(ctx, 'mandate.audit.outcome', () => trail.recordOutcome(gw.now(), outcome));
  } catch (e) {
    log.error({ correlationId: trace.traceId, code: asMandateError(e).code }, 'outcome event not recorded');
  }
}

/** The single event of a refused call; returns the error to answer with. */
async function recordRefusal(gw: Gateway, { trace, trail }: Call, e: unknown): Promise<MandateError> {
  const error = asMandateError(e);
  // Not a stage's refusal but a failure it did not turn into one (a bug, a state database that cannot
  // answer): the agent gets the bare catalogue answer, the audit its reason; the operator needs the cause.
  if (!(e instanceof MandateError))
    log.error({ correlationId: trace.traceId, code: error.code, err: e }, 'call failed');
  try {
    await trail.recordRefusal(gw.now(), error);
    return error;
  } catch (auditError) {
    // An unauditable refusal is still a refusal, but the caller learns the store is down.
    return asMandateError(auditError);
  }
}
