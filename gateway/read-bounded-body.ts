import type { IncomingMessage } from 'node:http';

/** How much of a request body a reader accepts, and the caller's own errors for what it refuses. */
export interface BodyBound {
  readonly maxBytes: number;
  /** The caller's refusal of a body over `maxBytes` (its own code and status). */
  readonly tooLarge: () => Error;
  /**
   * The caller's error for a body that did not arrive in full (the client went away). Default: a plain
   * Error, which callers without a code for it answer as an internal failure.
   */
  readonly aborted?: () => Error;
}

/**
 * Reads a request body of at most `bound.maxBytes` into memory: the one reader behind every body the
 * gateway buffers (a route's JSON body for policy, the token endpoint's form, admin JSON, the approval
 * page's forms), so each is bounded the same way.
 *
 * A body over the bound is refused on its Content-Length before anything is read, or as soon as a
 * chunked one crosses it; either way nothing more is buffered, and what is still arriving is read and
 * dropped. The request is never destroyed: that would reset the connection, and the caller's refusal
 * must reach the client. The caller's answer closes the connection (see `sendProblem`), which bounds
 * the dropping.
 */
export function readBoundedBody(req: IncomingMessage, bound: BodyBound): Promise<Buffer> {
  const { maxBytes } = bound;
  // The client went away while the caller awaited something else (authentication): a destroyed
  // request emits no more events, so waiting for them would hold this call (and its audit) forever.
  if (req.destroyed) {
    return Promise.reject(bound.aborted?.() ?? new Error('the request body did not arrive in full'));
  }
  const announced = req.headers['content-length'];
  if (announced !== undefined && Number(announced) > maxBytes) {
    req.resume();
    return Promise.reject(bound.tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total <= maxBytes) return void chunks.push(chunk);
      cleanup();
      req.resume();
      reject(bound.tooLarge());
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onAbort = () => {
      cleanup();
      reject(bound.aborted?.() ?? new Error('the request body did not arrive in full'));
    };
    const cleanup = () => {
      req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort);
    };
    req.on('data', onData).on('end', onEnd).on('error', onAbort).on('close', onAbort);
  });
}
