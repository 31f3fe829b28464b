import type { IncomingMessage, ServerResponse } from 'node:http';
import { auditedEndpoint } from '../admin/admin-endpoint.ts';
import { sendJson } from '../admin/json-body.ts';
import type { Html } from '../auditor/html.ts';
import { MandateError } from '../errors.ts';
import type { Gateway } from '../gateway.ts';
import { readBoundedBody } from '../read-bounded-body.ts';
import { log } from '../telemetry/log.ts';
import { approvalJson } from './approval.ts';
import { approvalEvent } from './approval-event.ts';
import { approvalsPage, continuePage, stylesheet } from './approval-page.ts';
import { APPROVALS_PATH } from './approvals.ts';
import { type Approver, authenticateApprover } from './approver.ts';
import { type Session, sameSecret } from './login-sessions.ts';

const BASE = `${APPROVALS_PATH}/`;
const SESSION_COOKIE = 'mandate_approvals_session';
const LOGIN_COOKIE = 'mandate_approvals_login';
const ID = /^apr_[A-Za-z0-9_-]{22}$/;

/** Like the auditor page: no script at all, styles and forms from this origin only, never framed or cached. */
const pageHeaders = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the page's form
  // posts, and the Origin check below would have nothing to compare.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/**
 * `/_mandate/approvals…`: where the user — as herself, never through her agent — sees and decides the
 * calls held for her approval.
 *
 * API (chat front-ends), `Authorization: Bearer <her IdP access token>`: GET `/_mandate/approvals`
 * (her pending approvals), GET `/_mandate/approvals/{id}`, POST `/_mandate/approvals/{id}/approve`
 * and `/reject`. Page (browsers): GET `/_mandate/approvals/`, logged in through the IdP (`login`,
 * `callback`), forms posting to the same approve/reject paths with the session cookie and a CSRF token.
 * A request carrying an Authorization header is an API call; the session cookie is then ignored, so
 * a cross-site form (which cannot set that header) can only ever be a page call, and needs the token.
 * Only the approval's own user sees it; anyone else gets 404, as for an id that does not exist.
 * Every refusal is audited, like a refused proxy call; every decision is an audit event.
 */
export const approvalsEndpoint = auditedEndpoint(route, 'approvals');

async function route(gw: Gateway, req: IncomingMessage, res: ServerResponse, correlationId: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://approvals.invalid');
  const path = url.pathname;
  const method = req.method ?? '';
  const api = req.headers.authorization !== undefined;
  if (path === `${BASE}style.css`) {
    res.writeHead(200, { ...pageHeaders, 'content-type': 'text/css; charset=utf-8' });
    res.end(stylesheet);
    return;
  }
  if (path === APPROVALS_PATH && !api) {
    // A browser typing the address without the slash: the page.
    res.writeHead(303, { location: BASE, 'cache-control': 'no-store' });
    res.end();
    return;
  }
  if (path === APPROVALS_PATH) {
    allow(method, 'GET');
    const approver = await apiApprover(gw, req);
    const pending = gw.approvals.store.pendingFor(approver.user, gw.now());
    return sendJson(res, 200, { approvals: pending.map((a) => approvalJson(a, gw.now())) });
  }
  if (path === BASE) {
    allow(method, 'GET');
    const session = pageSession(gw, req);
    if (session === undefined) return redirect(res, `${BASE}login`);
    return sendPage(
      res,
      approvalsPage(session.user, gw.approvals.store.pendingFor(session.user, gw.now()), session.csrf),
    );
  }
  if (path === `${BASE}login`) {
    allow(method, 'GET');
    const { url: authorization, state } = await loginSessions(gw).begin(redirectUri(gw, req));
    res.setHeader('set-cookie', cookie(LOGIN_COOKIE, state, `${BASE}callback`, 'Lax', 600));
    return redirect(res, authorization);
  }
  if (path === `${BASE}callback`) {
    allow(method, 'GET');
    const session = await loginSessions(gw).complete(url, cookies(req)[LOGIN_COOKIE]);
    const maxAge = Math.floor((session.expiresAtMs - gw.now()) / 1000);
    res.setHeader('set-cookie', [
      cookie(SESSION_COOKIE, session.id, APPROVALS_PATH, 'Strict', maxAge),
      cookie(LOGIN_COOKIE, '', `${BASE}callback`, 'Lax', 0),
    ]);
    return sendPage(res, continuePage());
  }
  if (path === `${BASE}logout`) {
    allow(method, 'POST');
    const session = await formSession(gw, req);
    loginSessions(gw).end(session.id);
    res.setHeader('set-cookie', cookie(SESSION_COOKIE, '', APPROVALS_PATH, 'Strict', 0));
    return redirect(res, BASE);
  }
  const [, id, verb] = /^\/_mandate\/approvals\/([^/]+)(?:\/(approve|reject))?$/.exec(path) ?? [];
  if (id === undefined || !ID.test(id)) throw new MandateError('MANDATE_APPROVAL_NOT_FOUND');
  if (verb === undefined) {
    allow(method, 'GET');
    const approver = await apiApprover(gw, req);
    const approval = gw.approvals.store.get(id);
    if (approval === undefined || approval.user !== approver.user) throw new MandateError('MANDATE_APPROVAL_NOT_FOUND');
    return sendJson(res, 200, { approval: approvalJson(approval, gw.now()) });
  }
  allow(method, 'POST');
  const approver: Approver = api ? await apiApprover(gw, req) : await formSession(gw, req);
  await decide(gw, approver, id, verb === 'approve' ? 'approved' : 'rejected', {
    correlationId,
    method,
    path,
    via: api ? 'api' : 'page',
  });
  if (api) return sendJson(res, 200, { approval: approvalJson(gw.approvals.store.get(id)!, gw.now()) });
  return redirect(res, BASE);
}

/**
 * Approves or rejects, as the approval's own user, while it is pending and unexpired (one conditional
 * UPDATE), then records the decision in the audit chain.
 */
async function decide(
  gw: Gateway,
  approver: Approver,
  id: string,
  status: 'approved' | 'rejected',
  origin: { correlationId: string; method: string; path: string; via: 'api' | 'page' },
): Promise<void> {
  const nowMs = gw.now();
  const store = gw.approvals.store;
  if (!store.decide(id, approver.user, status, nowMs)) {
    const approval = store.get(id);
    if (approval === undefined || approval.user !== approver.user) throw new MandateError('MANDATE_APPROVAL_NOT_FOUND');
    if (approval.status === 'pending') throw new MandateError('MANDATE_APPROVAL_EXPIRED');
    throw new MandateError('MANDATE_APPROVAL_ALREADY_DECIDED', `the approval is ${approval.status}`);
  }
  const decided = store.get(id)!;
  const kind = status === 'approved' ? 'approval_granted' : 'approval_rejected';
  try {
    await gw.audit.append(approvalEvent(kind, decided, { ...origin, nowMs, status: 200 }));
  } catch (e) {
    // Nothing stands unaudited: the decision goes back to pending (unless a retry already used it, whose
    // own events could not be committed either), and the user decides again once the store is back.
    if (!store.undecide(id, nowMs)) log.error({ approvalId: id }, 'approval decided but not audited; it was used');
    throw e;
  }
}

async function apiApprover(gw: Gateway, req: IncomingMessage): Promise<Approver> {
  const tokens = gw.config.gateway.tokens;
  return authenticateApprover(
    gw.approvals,
    req,
    { maxBytes: tokens.max_bytes, clockSkewSeconds: tokens.clock_skew_seconds },
    gw.now(),
  );
}

function loginSessions(gw: Gateway) {
  const sessions = gw.approvals.sessions;
  if (sessions === undefined) {
    throw new MandateError('MANDATE_APPROVAL_UNAVAILABLE', 'no identity provider has approval_login: use the API');
  }
  return sessions;
}

function pageSession(gw: Gateway, req: IncomingMessage): Session | undefined {
  return loginSessions(gw).session(cookies(req)[SESSION_COOKIE]);
}

/**
 * A form post of the page: a live session, a request from this origin (Origin, when the browser
 * sends it), and the session's CSRF token in the form. SameSite=Strict is a wall of its own.
 */
async function formSession(gw: Gateway, req: IncomingMessage): Promise<Session> {
  const session = pageSession(gw, req);
  if (session === undefined) throw new MandateError('MANDATE_APPROVER_UNAUTHENTICATED', 'log in to the approval page');
  const origin = req.headers.origin;
  if (origin !== undefined && URL.parse(origin)?.host !== req.headers.host)
    throw new MandateError('MANDATE_APPROVAL_CSRF');
  const body = await readBoundedBody(req, {
    maxBytes: 4096,
    tooLarge: () => new MandateError('MANDATE_REQUEST_MALFORMED', 'form larger than 4 KiB'),
  });
  const form = new URLSearchParams(body.toString('utf8'));
  if (!sameSecret(form.get('csrf') ?? undefined, session.csrf)) throw new MandateError('MANDATE_APPROVAL_CSRF');
  return session;
}

function redirectUri(gw: Gateway, req: IncomingMessage): string {
  const configured = gw.config.identity_providers.find((idp) => idp.approval_login)?.approval_login?.redirect_uri;
  return configured ?? `${gw.approvals.publicBase(req)}${BASE}callback`;
}

function allow(method: string, expected: 'GET' | 'POST'): void {
  if (method !== expected) throw new MandateError('MANDATE_METHOD_NOT_ALLOWED', undefined, { allow: [expected] });
}

function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

// Secure: browsers keep it for https and for loopback http (a secure context), never plain http elsewhere.
function cookie(name: string, value: string, path: string, sameSite: 'Strict' | 'Lax', maxAge: number): string {
  return `${name}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=${sameSite}`;
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store' });
  res.end();
}

function sendPage(res: ServerResponse, page: Html): void {
  res.writeHead(200, {
    ...pageHeaders,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(page.markup),
  });
  res.end(page.markup);
}
