import type { ServerResponse } from 'node:http';
import { MandateError } from './errors.ts';

/** Any thrown value as a catalogue error: unknown failures become MANDATE_INTERNAL (and deny). */
export function asMandateError(e: unknown): MandateError {
  return e instanceof MandateError ? e : new MandateError('MANDATE_INTERNAL', undefined, { cause: e });
}

/**
 * Answers with `application/problem+json` (RFC 9457): the stable code, the correlation id and, for
 * policy denials, the policy's reasons — so an agent can ask its user instead of guessing. Never
 * internals: `detail` is written for the caller, causes stay in the logs.
 */
export function sendProblem(res: ServerResponse, error: MandateError, correlationId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const entry = error.entry;
  const body = JSON.stringify({
    type: `urn:mandate:error:${error.code}`,
    title: entry.title,
    status: entry.status,
    code: error.code,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(error.policyReasons.length > 0 ? { reasons: error.policyReasons } : {}),
    correlation_id: correlationId,
  });
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (entry.wwwAuthenticate) headers['www-authenticate'] = `Bearer realm="mandate", error="${entry.wwwAuthenticate}"`;
  if (error.allow) headers.allow = error.allow.join(', ');
  // A malformed request may have left the connection in an unknown state: do not reuse it.
  if (entry.status === 400) headers.connection = 'close';
  res.writeHead(entry.status, headers);
  res.end(body);
}
