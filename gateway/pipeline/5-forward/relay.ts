import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * Pipes the backend's response body to the agent and settles when it is done. Not
 * `stream/promises` pipeline: that allocates an AbortController per call and aborts it on finish,
 * building a DOMException with a stack trace on every request (measured ≈ 13 µs each on the hot
 * path). pipe() keeps backpressure; this adds only completion and error handling.
 */
export function relay(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    body.once('error', (e) => {
      res.destroy(e);
      reject(e);
    });
    res.once('close', () => {
      if (res.writableFinished) {
        resolve();
        return;
      }
      // The agent went away mid-response: stop reading from the backend.
      body.destroy();
      reject(Object.assign(new Error('client closed the connection'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
    body.pipe(res);
  });
}
