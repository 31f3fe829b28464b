import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { drain } from './body.ts';
import { type DemoRoute, sendJson } from './server.ts';

/** Largest document GET /documents/{n} generates: 200 MiB. */
export const MAX_DOCUMENT_BYTES = 200 * 1024 * 1024;

/**
 * Document content is deterministic: byte i is `i % 251`. A chunk of 251 × 256 bytes therefore always
 * starts at a multiple of 251, so one immutable buffer serves every chunk of every download.
 */
const CHUNK = Buffer.from(Array.from({ length: 251 * 256 }, (_, i) => i % 251));

function* documentChunks(bytes: number): Generator<Buffer> {
  for (let sent = 0; sent < bytes; sent += CHUNK.length) {
    yield bytes - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, bytes - sent);
  }
}

/** Streaming upload and download, for testing that the gateway never buffers a body. */
export const documentRoutes: readonly DemoRoute[] = [
  {
    method: 'POST',
    path: /^\/documents$/,
    streamBody: true,
    // The server's body tap already counts and hashes every byte; report what it saw.
    handle: async ({ res, received }, body) => {
      await drain(body);
      sendJson(res, 201, { bytes: received.bodyBytes, sha256: received.bodySha256 });
    },
  },
  {
    method: 'GET',
    path: /^\/documents\/([0-9]+)$/,
    handle: async ({ res, params }) => {
      const bytes = Number(params[0]);
      if (bytes > MAX_DOCUMENT_BYTES) {
        return sendJson(res, 400, { error: 'too_large', message: `at most ${MAX_DOCUMENT_BYTES} bytes` });
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
      await pipeline(Readable.from(documentChunks(bytes), { objectMode: false }), res);
    },
  },
];
