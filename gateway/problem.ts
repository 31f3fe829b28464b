import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type CatalogueEntry, MandateError } from './errors.ts';
import { isStorageUnavailable } from './state/sqlite-failure.ts';

/**
 * Any thrown value as a catalogue error: unknown failures become MANDATE_INTERNAL (and deny). A
 * SQLite failure no store turned into its own refusal (the audit store and the limits have codes of
 * their own) is the state database being unavailable — an I/O error, a full disk, a lock held past
 * the busy timeout, a read-only file — and is answered as such (503, retry), not as a gateway bug.
 */
export function asMandateError(e: unknown): MandateError {
  if (e instanceof MandateError) return e;
  if (isStorageUnavailable(e)) return new MandateError('MANDATE_STATE_UNAVAILABLE', undefined, { cause: e });
  return new MandateError('MANDATE_INTERNAL', undefined, { cause: e });
}

/**
 * Answers with `application/problem+json` (RFC 9457): the stable code, the correlation id and, for
 * policy denials, the policy's reasons — so an agent can ask its user instead of guessing. Never
 * internals: `detail` is written for the caller, causes stay in the logs.
 */
export function sendProblem(
  res: ServerResponse,
  error: MandateError,
  correlationId: string,
  resourceMetadata?: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, headers, body } = problemResponse(error, correlationId, resourceMetadata);
  // A malformed request may have left the connection in an unknown state: do not reuse it. Nor after
  // a body refused unread (413, 415): closing, rather than reading what is left, bounds the work.
  if (status === 400 || status === 413 || status === 415) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * The same answer written as raw HTTP/1.1 onto a connection Node has handed over (an `upgrade`
 * request has no ServerResponse), with the correlation id every response carries; then the
 * connection is closed, since the agent asked to leave HTTP on it.
 */
export function writeProblem(
  socket: Duplex,
  error: MandateError,
  correlationId: string,
  resourceMetadata?: string,
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const { status, headers, body } = problemResponse(error, correlationId, resourceMetadata);
  headers.connection = 'close';
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  socket.end(`${head}\r\n${body}`, () => socket.destroy());
}

function problemResponse(
  error: MandateError,
  correlationId: string,
  resourceMetadata: string | undefined,
): { status: number; headers: Record<string, string | number>; body: string } {
  const entry = error.entry;
  const body = JSON.stringify({
    type: `urn:mandate:error:${error.code}`,
    title: entry.title,
    status: entry.status,
    code: error.code,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(error.policyReasons.length > 0 ? { reasons: error.policyReasons } : {}),
    ...error.extensions,
    correlation_id: correlationId,
  });
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-mandate-correlation-id': correlationId,
  };
  if (entry.wwwAuthenticate) headers['www-authenticate'] = bearerChallenge(entry.wwwAuthenticate, resourceMetadata);
  if (error.allow) headers.allow = error.allow.join(', ');
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = error.retryAfterSeconds;
  return { status: entry.status, headers, body };
}

/**
 * RFC 6750 §3: the realm, the error code (none for a request that carried no credential), and the
 * URL of the protected resource's RFC 9728 metadata (§5.1) when the backend called publishes one, so
 * that a client (an MCP client, say) can find where to get a token.
 */
function bearerChallenge(error: NonNullable<CatalogueEntry['wwwAuthenticate']>, resourceMetadata?: string): string {
  return [
    'Bearer realm="mandate"',
    ...(error === 'none' ? [] : [`error="${error}"`]),
    ...(resourceMetadata === undefined ? [] : [`resource_metadata="${resourceMetadata}"`]),
  ].join(', ');
}
