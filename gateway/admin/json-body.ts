import type { IncomingMessage, ServerResponse } from 'node:http';
import { MandateError } from '../errors.ts';

/** Admin requests are small; a larger body is refused before it is buffered. */
const MAX_BODY_BYTES = 16 * 1024;

/** The request's JSON body; MANDATE_REQUEST_MALFORMED for another media type, an oversized body or bad JSON. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new MandateError('MANDATE_REQUEST_MALFORMED', 'expected application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new MandateError('MANDATE_REQUEST_MALFORMED', 'body larger than 16 KiB');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
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
