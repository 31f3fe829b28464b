import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { MandateError } from '../../errors.ts';
import { relay } from './relay.ts';
import { relayableResponseHeaders } from './response-headers.ts';

export interface UpstreamRequest {
  readonly method: string;
  /** Path and query on the backend, derived from the canonical path. */
  readonly path: string;
  readonly headers: Record<string, string>;
  /**
   * The body already read and judged (a route with `body:` in routes.yaml), sent as these exact bytes
   * with their Content-Length, never re-serialised; undefined streams the agent's body as it arrives.
   */
  readonly body?: Buffer | undefined;
  /** Relayed to the agent with the response, in place of any the backend sent. */
  readonly correlationId: string;
}

/** What happened on the wire, for the outcome audit event. */
export interface ForwardOutcome {
  readonly status: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /**
   * Hex SHA-256 of a streamed request body, hashed on its way upstream; absent when the request had no
   * body, or a body read in stage 2b (whose hash was taken when it was read).
   */
  readonly bodySha256?: string;
  /** Set when the exchange failed after it started; the catalogue code of the failure. */
  readonly failure: MandateError | undefined;
  /** True when response headers had reached the agent before the failure. */
  readonly responseStarted: boolean;
}

const REQUEST_HAS_NO_BODY = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

/**
 * Streams the request to the backend and the response back: no buffering in either direction, so
 * memory stays bounded for any body size (a body read in stage 2b is bounded by its route). Never throws: failures are returned in the outcome, and
 * the caller answers the agent (502/504) if the response has not started.
 */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  dispatcher: Dispatcher,
  upstream: UpstreamRequest,
): Promise<ForwardOutcome> {
  let bytesIn = 0;
  let bytesOut = 0;
  let status = 0;
  let responseStarted = false;
  const hasBody = !(
    REQUEST_HAS_NO_BODY.has(upstream.method) &&
    req.headers['content-length'] === undefined &&
    req.headers['transfer-encoding'] === undefined
  );
  const buffered = upstream.body;
  const digest = buffered === undefined && hasBody ? createHash('sha256') : undefined;
  async function* countedRequestBody() {
    for await (const chunk of req) {
      bytesIn += (chunk as Buffer).length;
      digest?.update(chunk as Buffer);
      yield chunk as Buffer;
    }
  }
  if (buffered !== undefined) bytesIn = buffered.length;
  // Final once the body has been sent; read when the outcome is recorded.
  const bodySha256 = () => (digest === undefined ? {} : { bodySha256: digest.digest('hex') });
  const streamed =
    buffered === undefined && hasBody ? Readable.from(countedRequestBody(), { objectMode: false }) : null;
  try {
    const response = await dispatcher.request({
      method: upstream.method as Dispatcher.HttpMethod,
      path: upstream.path,
      headers:
        buffered === undefined ? upstream.headers : { ...upstream.headers, 'content-length': String(buffered.length) },
      body: buffered ?? streamed,
    });
    status = response.statusCode;
    res.writeHead(status, relayableResponseHeaders(response.headers, upstream.correlationId));
    responseStarted = true;
    response.body.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length;
    });
    await relay(response.body, res);
    return { status, bytesIn, bytesOut, failure: undefined, responseStarted, ...bodySha256() };
  } catch (e) {
    return { status, bytesIn, bytesOut, failure: classify(e, req), responseStarted, ...bodySha256() };
  }
}

/** Maps undici and stream errors onto the catalogue. */
function classify(e: unknown, req: IncomingMessage): MandateError {
  const code = (e as { code?: string }).code ?? '';
  if (req.destroyed && !req.complete) return new MandateError('MANDATE_CLIENT_ABORTED', undefined, { cause: e });
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new MandateError('MANDATE_UPSTREAM_TIMEOUT', undefined, { cause: e });
  }
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' && req.socket?.destroyed) {
    return new MandateError('MANDATE_CLIENT_ABORTED', undefined, { cause: e });
  }
  return new MandateError('MANDATE_UPSTREAM_UNREACHABLE', undefined, { cause: e });
}
