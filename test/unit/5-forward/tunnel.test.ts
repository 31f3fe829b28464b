import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { ForwardOutcome } from '../../../gateway/pipeline/5-forward/forward.ts';
import { type TunnelTarget, tunnel } from '../../../gateway/pipeline/5-forward/tunnel.ts';
import { rawRequest, websocketHandshake } from '../../e2e/harness.ts';

const listen = async <T extends Server | ReturnType<typeof createTcpServer>>(
  server: T,
): Promise<T & { port: number }> => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
};

/**
 * The tunnel stage on real sockets: a node:http server whose upgrades go straight to `tunnel` (no
 * authentication — that is the pipeline's job), in front of real backends.
 */
describe('tunnel (http-proxy-3)', () => {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  let backend: Server & { port: number };
  let silent: ReturnType<typeof createTcpServer> & { port: number };
  let gateway: Server & { port: number };
  let target: Omit<TunnelTarget, 'origin'> & { origin?: string };
  let beforeTunnel: (socket: Duplex) => void = () => {};
  const outcomes: ForwardOutcome[] = [];
  /** The outcome of the next tunnel to settle (it settles once the agent's connection has closed). */
  const nextOutcome = async (count = outcomes.length): Promise<ForwardOutcome> => {
    while (outcomes.length === count) await new Promise((r) => setTimeout(r, 5));
    return outcomes[count]!;
  };

  before(async () => {
    // A backend that records the handshake it receives and refuses it with a plain 403.
    backend = await listen(createHttpServer());
    backend.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\nconnection: close\r\nx-backend: yes\r\n\r\nno');
    });
    // A backend that accepts connections and never answers.
    silent = await listen(createTcpServer(() => {}));
    gateway = await listen(createHttpServer());
    gateway.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      beforeTunnel(socket);
      void tunnel(req, socket, head, { origin: `http://127.0.0.1:${backend.port}`, ...target }).then((o) =>
        outcomes.push(o),
      );
    });
  });
  after(() => {
    for (const server of [backend, silent, gateway]) {
      server.close();
      if ('closeAllConnections' in server) server.closeAllConnections();
    }
  });

  const base: Omit<TunnelTarget, 'origin'> = {
    path: '/contracts/1/events',
    headers: { authorization: 'Bearer service', 'x-mandate-user': 'alice' },
    correlationId: 'c'.repeat(32),
    connectTimeoutMs: 1000,
    handshakeTimeoutMs: 300,
    lifetimeMs: 60_000,
    cut: new AbortController().signal,
  };

  it('sends exactly the built headers, never the agent’s, to exactly the given path', async () => {
    // WHATWG URL would rewrite the quote in the query (%27): the path must go out as given.
    target = { ...base, path: "/contracts/1/events?since='2026-01-01'" };
    seen.length = 0;
    const settled = nextOutcome();
    const response = await rawRequest(
      gateway.port,
      websocketHandshake('/agent/path', [
        'Authorization: Bearer agent-token',
        'Cookie: session=agent',
        'X-Mandate-User: mallory',
      ]),
    );
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.url, "/contracts/1/events?since='2026-01-01'");
    assert.deepEqual(seen[0]!.headers, {
      authorization: 'Bearer service',
      'x-mandate-user': 'alice',
      connection: 'Upgrade',
      upgrade: 'websocket',
      host: `127.0.0.1:${backend.port}`,
    });
    // The backend's plain answer is relayed with the correlation id, and the connection closed.
    assert.match(response, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(response, /\r\nx-backend: yes\r\n/);
    assert.match(response, new RegExp(`\r\nx-mandate-correlation-id: ${'c'.repeat(32)}\r\n`));
    assert.match(response, /\r\n\r\nno$/);
    const outcome = await settled;
    assert.deepEqual(
      {
        status: outcome.status,
        bytesOut: outcome.bytesOut,
        started: outcome.responseStarted,
        failure: outcome.failure,
      },
      { status: 403, bytesOut: 2, started: true, failure: undefined },
    );
  });

  it('a backend that never answers the handshake → 504 problem to the agent, MANDATE_UPSTREAM_TIMEOUT', async () => {
    target = { ...base, origin: `http://127.0.0.1:${silent.port}` };
    const settled = nextOutcome();
    const response = await rawRequest(gateway.port, websocketHandshake('/agent/path', []));
    assert.match(response, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
    assert.match(response, /"code":"MANDATE_UPSTREAM_TIMEOUT"/);
    const outcome = await settled;
    assert.equal(outcome.failure?.code, 'MANDATE_UPSTREAM_TIMEOUT');
    assert.equal(outcome.responseStarted, false);
  });

  it('an agent that left while being authorized: the backend is not contacted', async () => {
    target = base;
    seen.length = 0;
    beforeTunnel = (socket) => socket.destroy();
    const settled = nextOutcome();
    try {
      await rawRequest(gateway.port, websocketHandshake('/agent/path', []));
    } finally {
      beforeTunnel = () => {};
    }
    assert.equal((await settled).failure?.code, 'MANDATE_CLIENT_ABORTED');
    assert.equal(seen.length, 0);
  });
});
