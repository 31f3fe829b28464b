import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { drain, hashed, readAtMost } from './body.ts';

/**
 * The skeleton shared by the demo backends: a plain node:http server that knows nothing about
 * delegation. It checks its own service credential, routes on the raw path, and remembers every
 * request it receives — including refused ones, so tests can prove "the backend never saw it".
 */

/** One request as the backend saw it: the raw target, every header, and the body's size and hash. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyBytes: number;
  /** Hex SHA-256 of the body; '' while the body is still arriving (or if it never finished). */
  bodySha256: string;
  at: string;
}

export interface DemoBackend {
  readonly url: string;
  readonly port: number;
  /**
   * Most recent requests, WebSocket handshakes included, oldest first (at most 1000). Requests to
   * /__demo/ are not recorded.
   */
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

export interface DemoRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  /** Capture groups of the route's path pattern. */
  readonly params: readonly string[];
  /** This request's entry in the received log (its body size and hash are final once the body was read). */
  readonly received: ReceivedRequest;
  readonly res: ServerResponse;
}

/**
 * A route of a demo backend. By default the body is read (≤ 1 MiB, else 413) before `handle` runs;
 * `streamBody` routes get the body as a stream instead and must read it to the end.
 */
export type DemoRoute = { readonly method: string; readonly path: RegExp } & (
  | { readonly streamBody?: false; handle(req: DemoRequest, body: Buffer): void | Promise<void> }
  | { readonly streamBody: true; handle(req: DemoRequest, body: AsyncIterable<Buffer>): Promise<void> }
);

/**
 * A WebSocket endpoint of a demo backend. The handshake is recorded and checked like any request
 * (service credential, then path); `open` gets the connection once the `ws` library has accepted it.
 */
export interface DemoWebSocketRoute {
  readonly path: RegExp;
  /** `params`: capture groups of `path`. */
  open(socket: WebSocket, params: readonly string[]): void;
}

export interface DemoServerOptions {
  readonly port: number;
  readonly host: string;
  /** True only when the request carries this backend's own service credential. */
  authorized(headers: IncomingHttpHeaders): boolean;
  /** `WWW-Authenticate` value sent with a 401, if the credential scheme has one. */
  readonly challenge?: string;
  readonly routes: readonly DemoRoute[];
  readonly websockets?: readonly DemoWebSocketRoute[];
}

const RECEIVED_LIMIT = 1000;
const JSON_BODY_LIMIT = 1024 * 1024;
const INSPECT_PREFIX = '/__demo/';

/**
 * Constant-time comparison of a presented credential with the expected one. Both are hashed first, so
 * neither the content nor the length of the secret leaks through timing.
 */
export function sameSecret(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function startDemoServer(options: DemoServerOptions): Promise<DemoBackend> {
  const received: ReceivedRequest[] = [];
  const routes: readonly DemoRoute[] = [
    ...options.routes,
    // The demo script's window into what the backend saw; same credential as everything else.
    { method: 'GET', path: /^\/__demo\/received$/, handle: ({ res }) => sendJson(res, 200, received) },
  ];

  function remember(req: IncomingMessage, path: string): ReceivedRequest {
    const record: ReceivedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: { ...req.headers },
      bodyBytes: 0,
      bodySha256: '',
      at: new Date().toISOString(),
    };
    if (!path.startsWith(INSPECT_PREFIX)) {
      received.push(record);
      if (received.length > RECEIVED_LIMIT) received.splice(0, received.length - RECEIVED_LIMIT);
    }
    return record;
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const record = remember(req, path);
    const body = hashed(req, record);

    if (!options.authorized(req.headers)) {
      await drain(body);
      const challenge: Record<string, string> = options.challenge ? { 'www-authenticate': options.challenge } : {};
      return sendJson(res, 401, { error: 'unauthorized', message: 'missing or wrong service credential' }, challenge);
    }
    const allowed: string[] = [];
    for (const route of routes) {
      const params = route.path.exec(path);
      if (params === null) continue;
      if (route.method !== req.method) {
        allowed.push(route.method);
        continue;
      }
      const request = {
        path,
        query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
        params: params.slice(1),
        received: record,
        res,
      };
      if (route.streamBody) return route.handle(request, body);
      const buffered = await readAtMost(body, JSON_BODY_LIMIT);
      if (buffered === undefined) return sendJson(res, 413, { error: 'too_large', message: 'body exceeds 1 MiB' });
      return route.handle(request, buffered);
    }
    await drain(body);
    if (allowed.length > 0) {
      return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: allowed.join(', ') });
    }
    sendJson(res, 404, { error: 'not_found', message: `no such resource: ${path}` });
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy(error instanceof Error ? error : undefined);
      else sendJson(res, 500, { error: 'internal', message: String(error) });
    });
  });
  const websockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?', 1)[0] as string;
    const record = remember(req, path);
    record.bodySha256 = EMPTY_SHA256;
    if (!options.authorized(req.headers)) {
      const challenge: Record<string, string> = options.challenge ? { 'www-authenticate': options.challenge } : {};
      return refuseUpgrade(
        socket,
        401,
        { error: 'unauthorized', message: 'missing or wrong service credential' },
        challenge,
      );
    }
    for (const route of options.websockets ?? []) {
      const params = route.path.exec(path);
      if (params === null) continue;
      return websockets.handleUpgrade(req, socket, head, (ws) => route.open(ws, params.slice(1)));
    }
    refuseUpgrade(socket, 404, { error: 'not_found', message: `no WebSocket endpoint at ${path}` });
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    received,
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      // Upgraded connections are no longer the HTTP server's to close.
      for (const ws of websockets.clients) ws.terminate();
      await closed;
    },
  };
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** Answers a handshake the backend will not accept with a plain JSON response, then closes. */
function refuseUpgrade(socket: Duplex, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n`;
  const all = {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  };
  for (const [name, v] of Object.entries(all)) head += `${name}: ${v}\r\n`;
  socket.end(`${head}\r\n${body}`, () => socket.destroy());
}
