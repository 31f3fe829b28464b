import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProxyServer } from 'http-proxy-3';
import { MandateError } from '../../errors.ts';
import { writeProblem } from '../../problem.ts';
import type { ForwardOutcome } from './forward.ts';
import { relayableResponseHeaders } from './response-headers.ts';

/** Where an authorized upgrade goes, and how long it may last. */
export interface TunnelTarget {
  /** The backend's origin; the path comes from `path` alone. */
  readonly origin: string;
  /** Path and query on the backend, derived from the canonical path (RouteMatch.upstreamPath). */
  readonly path: string;
  /** The upstream header set built by inject: allow-listed fields, service credential, identity. */
  readonly headers: Record<string, string>;
  readonly correlationId: string;
  readonly connectTimeoutMs: number;
  /** How long the backend may take to answer the handshake. */
  readonly handshakeTimeoutMs: number;
  /** How long the tunnel may stay open: until the token that opened it would be refused. */
  readonly lifetimeMs: number;
  /**
   * Aborted when the token that opened the tunnel may no longer be used — revoked, or its task
   * suspended; its reason (a MandateError) is the failure.
   */
  readonly cut: AbortSignal;
}

const HANDSHAKE_TIMEOUT = 'MANDATE_HANDSHAKE_TIMEOUT';

/**
 * Opens a WebSocket tunnel to the backend with http-proxy-3 and settles when the agent's connection
 * closes, with what crossed it: status 101 and the frame bytes each way (`bytesIn` from the agent,
 * `bytesOut` from the backend). A backend that answers the handshake with a plain response instead
 * has it relayed, hop-by-hop fields removed, and the connection closed. Never throws.
 *
 * http-proxy-3 builds the upstream header set as `{...req.headers, ...options.headers}`
 * (common.setupOutgoing): an overlay would let every agent header the gateway does not itself set —
 * its `Authorization` in front of an `x-api-key` backend, `Cookie`, `X-Mandate-*` when identity
 * headers are off — through to the backend. So the request is handed over as what the backend must
 * see: its headers replaced by the built set, its target by the canonical upstream path (`toProxy`
 * keeps http-proxy-3 from re-parsing it with WHATWG URL, a second parser).
 */
export function tunnel(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: TunnelTarget,
): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    let status = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    let responseStarted = false;
    let failure: MandateError | undefined;
    let handshake: ClientRequest | undefined;
    let handshakeTimer: NodeJS.Timeout | undefined;
    const fail = (error: MandateError) => {
      failure ??= error;
    };

    // The agent hung up while it was being authorized: nothing to tunnel, and the backend is not contacted.
    if (socket.destroyed) {
      resolve({ status, bytesIn, bytesOut, failure: new MandateError('MANDATE_CLIENT_ABORTED'), responseStarted });
      return;
    }
    // The tunnel cannot outlive its mandate. Frames are not parsed, so no close frame can be injected
    // safely mid-stream: the connections are closed (the agent sees 1006) and the reason audited.
    const lifetime = setTimeout(() => {
      fail(new MandateError('MANDATE_AUTHN_TOKEN_EXPIRED', 'the tunnel closed when its token expired'));
      socket.destroy();
    }, target.lifetimeMs);
    // Nor its token's revocation or its task's suspension: the same cut, with that as the reason.
    const cutNow = () => {
      fail(target.cut.reason as MandateError);
      socket.destroy();
    };
    if (target.cut.aborted) cutNow();
    else target.cut.addEventListener('abort', cutNow, { once: true });
    socket.once('close', () => {
      clearTimeout(lifetime);
      target.cut.removeEventListener('abort', cutNow);
      clearTimeout(handshakeTimer);
      if (!responseStarted) handshake?.destroy();
      resolve({ status, bytesIn, bytesOut, failure, responseStarted });
    });

    const proxy = new ProxyServer({
      target: target.origin,
      prependPath: false,
      toProxy: true,
      connectTimeout: target.connectTimeoutMs,
    });
    proxy.on('proxyReqWs', (proxyReq) => {
      handshake = proxyReq;
      handshakeTimer = setTimeout(() => {
        proxyReq.destroy(Object.assign(new Error('backend did not answer the handshake'), { code: HANDSHAKE_TIMEOUT }));
      }, target.handshakeTimeoutMs);
      // Registered before http-proxy-3's own listeners, so these run first and amend what it relays.
      proxyReq.once('upgrade', (proxyRes: IncomingMessage) => {
        clearTimeout(handshakeTimer);
        status = 101;
        responseStarted = true;
        proxyRes.headers['x-mandate-correlation-id'] = target.correlationId;
      });
      proxyReq.once('response', (proxyRes: IncomingMessage) => {
        clearTimeout(handshakeTimer);
        status = proxyRes.statusCode ?? 0;
        responseStarted = true;
        proxyRes.headers = { ...relayableResponseHeaders(proxyRes.headers, target.correlationId), connection: 'close' };
        proxyRes.on('data', (chunk: Buffer) => {
          bytesOut += chunk.length;
        });
      });
    });
    // Emitted once both sockets are piped and before any data flows, so every frame is counted.
    proxy.on('open', (upstream) => {
      socket.on('data', (chunk: Buffer) => {
        bytesIn += chunk.length;
      });
      upstream.on('data', (chunk: Buffer) => {
        bytesOut += chunk.length;
      });
    });
    // Errors of the agent's socket. Without a listener here http-proxy-3 rethrows them.
    proxy.on('error', (e) => fail(new MandateError('MANDATE_CLIENT_ABORTED', undefined, { cause: e })));

    req.url = target.path;
    // Connection and Upgrade are hop-by-hop (RFC 9110 §7.6.1): set afresh for this hop, never copied.
    req.headers = { ...target.headers, connection: 'Upgrade', upgrade: 'websocket' };
    proxy.ws(req, socket, head, {}, (e) => {
      // Backend failures. http-proxy-3 closes the agent's socket as soon as this returns, so an agent
      // still waiting for the handshake's answer gets it now.
      const error = classify(e);
      if (!responseStarted) writeProblem(socket, error, target.correlationId);
      fail(error);
    });
  });
}

function classify(e: Error): MandateError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ECONNECT_TIMEOUT' || code === HANDSHAKE_TIMEOUT) {
    return new MandateError('MANDATE_UPSTREAM_TIMEOUT', undefined, { cause: e });
  }
  return new MandateError('MANDATE_UPSTREAM_UNREACHABLE', undefined, { cause: e });
}
