import type { IncomingMessage, ServerResponse } from 'node:http';
import { adminEndpoint } from '../admin/admin-endpoint.ts';
import { MandateError } from '../errors.ts';
import { searchEvents } from '../pipeline/6-audit/query.ts';
import { readAcross } from '../pipeline/6-audit/read-segments.ts';
import { listSegments } from '../pipeline/6-audit/segments.ts';
import type { Html } from './html.ts';
import {
  BASE,
  type SearchParams,
  searchFields,
  searchPage,
  stylesheet,
  type TimelineRow,
  taskPage,
  verifyPage,
} from './pages.ts';
import { verifyNow } from './verify-status.ts';

export { BASE as AUDITOR_PATH } from './pages.ts';

const SEARCH_LIMIT = 200;

/**
 * Every response of the page: no script may run (there is none, and the policy forbids all), styles
 * only from the stylesheet, forms only to this origin, never framed, nothing cached or leaked in a
 * Referer. Audit rows hold caller-controlled text; escaping (html.ts) keeps it text, and this policy
 * is the second wall should escaping ever fail.
 */
const securityHeaders = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * `/_mandate/audit/…`, role `auditor`, GET only: `/` searches events (user, agent, action, resource,
 * txn, time), `task?txn=` shows a task's timeline, `verify` verifies the audit database, `style.css`.
 * Reads through its own read-only SQLite connections, opened per request — never the writer's — over
 * the sealed segments and the active database (read-segments.ts).
 * Refusals (no key, wrong key or role, bad parameters) are audited by `adminEndpoint`.
 */
export const auditorEndpoint = adminEndpoint('auditor', async (gw, req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new MandateError('MANDATE_METHOD_NOT_ALLOWED', undefined, { allow: ['GET', 'HEAD'] });
  }
  const url = new URL(req.url ?? '/', 'http://auditor.invalid');
  const params = url.searchParams;
  const file = gw.config.gateway.audit_db;
  switch (url.pathname) {
    case BASE:
      return send(res, search(file, params));
    case `${BASE}task`:
      return send(res, task(file, required(params, 'txn')));
    case `${BASE}verify`:
      return send(res, verifyPage(await verifyNow(file, gw.now), listSegments(file)));
    case `${BASE}style.css`:
      res.writeHead(200, { ...securityHeaders, 'content-type': 'text/css; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : stylesheet);
      return;
    default:
      throw new MandateError('MANDATE_ROUTE_NOT_FOUND');
  }
});

function search(file: string, params: URLSearchParams): Html {
  const asked: SearchParams = {};
  for (const name of Object.keys(searchFields) as (keyof SearchParams)[]) {
    const value = params.get(name)?.trim();
    if (value) asked[name] = value;
  }
  if (Object.keys(asked).length === 0) return searchPage(asked, undefined, SEARCH_LIMIT);
  const rows = readAcross(file, SEARCH_LIMIT, (db) =>
    searchEvents(db, {
      ...asked,
      since: asked.since === undefined ? undefined : time('since', asked.since),
      until: asked.until === undefined ? undefined : time('until', asked.until),
      limit: SEARCH_LIMIT,
    }),
  );
  return searchPage(asked, rows, SEARCH_LIMIT);
}

function task(file: string, txn: string): Html {
  const rows = readAcross(file, undefined, (db) =>
    db.prepare<[string], TimelineRow>('SELECT * FROM task_timeline WHERE txn = ? ORDER BY seq').all(txn),
  );
  return taskPage(txn, rows);
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (!value) throw new MandateError('MANDATE_REQUEST_MALFORMED', `${name} is required`);
  return value;
}

/** An ISO 8601 date or date-time, UTC unless it says otherwise. */
function time(name: string, value: string): Date {
  const withZone = /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? `${value}T00:00:00Z`
    : /[zZ]|[+-]\d{2}:\d{2}$/.test(value)
      ? value
      : `${value}Z`;
  const date = new Date(withZone);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new MandateError('MANDATE_REQUEST_MALFORMED', `${name}: expected an ISO 8601 date or date-time`);
  }
  return date;
}

function send(res: ServerResponse, page: Html): void {
  const body = page.markup;
  res.writeHead(200, {
    ...securityHeaders,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end((res.req as IncomingMessage).method === 'HEAD' ? undefined : body);
}
