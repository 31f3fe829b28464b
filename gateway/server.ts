import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ownEndpoint } from './endpoints.ts';
import type { Gateway } from './gateway.ts';
import { handle, handleUpgrade } from './pipeline/handle.ts';
import { log } from './telemetry/log.ts';

/**
 * The gateway's HTTP server. Parser limits are pinned rather than left to Node's defaults, which have
 * changed between releases (STANDARDS §7.1): an oversized header section is refused with 431, never
 * ignored, and the lenient parser is never enabled.
 */
export function createGatewayServer(gw: Gateway): Server {
  const server = createServer(
    {
      maxHeaderSize: 16 * 1024,
      headersTimeout: 60_000,
      requestTimeout: 300_000,
      keepAliveTimeout: 5_000,
      insecureHTTPParser: false,
      requireHostHeader: true,
      // RFC 9110 §7.8: Upgrade in an HTTP/1.0 request is ignored; it is then an ordinary request
      // (whose Upgrade field inject drops). Every HTTP/1.1 upgrade goes to handleUpgrade, which
      // tunnels WebSocket only and refuses the rest.
      shouldUpgradeCallback: (req) => req.httpVersion === '1.1',
    },
    (req, res) => {
      const endpoint = ownEndpoint(req.url ?? '');
      (endpoint ?? handle)(gw, req, res).catch((e: unknown) => {
        // Handlers answer every failure themselves; reaching here is a bug, and the connection is dropped.
        log.error({ err: e }, 'unhandled pipeline failure');
        res.destroy();
      });
    },
  );
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node stops listening for errors on a connection it hands over; an agent resetting it must not
    // crash the gateway (the tunnel and its audit event see the close).
    socket.on('error', (e) => log.debug({ err: e }, 'upgraded connection error'));
    const handled = handleUpgrade(gw, req, socket, head).catch((e: unknown) => {
      log.error({ err: e }, 'unhandled upgrade failure');
      socket.destroy();
    });
    gw.tunnels.track(socket, handled);
  });
  server.maxHeadersCount = 2000;
  return server;
}
