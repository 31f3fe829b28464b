import type { IncomingMessage, ServerResponse } from 'node:http';
import { MandateError } from '../errors.ts';
import { readBoundedBody } from '../read-bounded-body.ts';

/** Admin requests are small; a larger body is refused before it is buffered. */
const MAX_BODY_BYTES = 16 * 1024;

/** The request's JSON body; MANDATE_REQUEST_MALFORMED for another media type, an oversized body or bad JSON. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new MandateError('MANDATE_REQUEST_MALFORMED', 'expected application/json');
  const body = await readBoundedBody(req, {
    maxBytes: MAX_BODY_BYTES,
    tooLarge: () => new MandateError('MANDATE_REQUEST_MALFORMED', 'body larger than 16 KiB'),
  });
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new MandateError('MANDATE_REQUEST_MALFORMED', 'body is not valid JSON');
  }
}

/** A JSON answer that no cache keeps (admin answers name users and tasks). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
