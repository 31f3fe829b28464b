import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ReceivedRequest } from './server.ts';

/**
 * The request body, passed through unchanged while its size and SHA-256 are written into `record`
 * (the hash once the last byte has arrived). Nothing is buffered.
 */
export async function* hashed(req: IncomingMessage, record: ReceivedRequest): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of req as AsyncIterable<Buffer>) {
    record.bodyBytes += chunk.length;
    hash.update(chunk);
    yield chunk;
  }
  record.bodySha256 = hash.digest('hex');
}

/** Reads the body to its end, keeping nothing. */
export async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const _chunk of body);
}

/** The whole body, or undefined when it exceeds `limit` bytes (read to the end anyway, so the hash completes). */
export async function readAtMost(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total <= limit) chunks.push(chunk);
  }
  return total > limit ? undefined : Buffer.concat(chunks, total);
}
