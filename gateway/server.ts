import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ownEndpoint } from './endpoints.ts';
import type { Gateway } from './gateway.ts';
import { handle, handleUpgrade } from './pipeline/handle.ts';
import { log } from './telemetry/log.ts';

/** The gateway's HTTP server, and its graceful stop. */
export interface GatewayServer {
  readonly server: Server;
  /**
   * Stops accepting connections and closes the idle ones; the calls in flight get up to `graceMs`
   * to finish, each connection closing once its call is answered; then the rest are cut. Resolves
   * once every call's handler has returned, so each call's audit events are written (a cut call's
   * outcome records the cut) before the gateway closes its audit log.
   */
  drain(graceMs: number): Promise<void>;
}

/**
 * The gateway's HTTP server. Parser limits are pinned rather than left to Node's defaults, which have
 * changed between releases (STANDARDS §7.1): an oversized header section is refused with 431, never
 * ignored, and the lenient parser is never enabled.
 */
export function createGatewayServer(gw: Gateway): GatewayServer {
  const inFlight = new Set<Promise<void>>();
  let draining = false;
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
      // While draining, a call that still arrives on an open connection is served, and closes it.
      if (draining) res.shouldKeepAlive = false;
      const endpoint = ownEndpoint(req.url ?? '');
      const done = () => {
        inFlight.delete(handled);
        // Its connection is idle now: while draining, nothing more is to come on it.
        if (draining) server.closeIdleConnections();
      };
      const handled: Promise<void> = (endpoint ?? handle)(gw, req, res).then(done, (e: unknown) => {
        // Handlers answer every failure themselves; reaching here is a bug, and the connection is dropped.
        log.error({ err: e }, 'unhandled pipeline failure');
        res.destroy();
        done();
      });
      inFlight.add(handled);
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

  /** Whether every call in flight (including any that arrive meanwhile) finished within `ms`. */
  const settledWithin = async (ms: number): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const over = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const settled = (async () => {
      while (inFlight.size > 0) await Promise.all(inFlight);
      return true;
    })();
    try {
      return await Promise.race([settled, over]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    server,
    async drain(graceMs) {
      draining = true;
      server.close(); // and, since Node 19, the idle keep-alive connections with it
      if (!(await settledWithin(graceMs))) {
        log.warn({ calls: inFlight.size, graceMs }, 'shutdown grace period over: cutting the calls in flight');
        server.closeAllConnections();
        // A cut call's handler still records its outcome (the agent went away mid-call); one that
        // does not within the bound below must not keep the process from exiting.
        if (!(await settledWithin(CUT_CALLS_RECORDED_WITHIN_MS))) {
          log.error({ calls: inFlight.size }, 'calls cut at shutdown did not finish: exiting without their outcome');
        }
      }
      server.closeAllConnections();
    },
  };
}

/** How long the calls cut at the end of the grace period get to record their outcome events. */
const CUT_CALLS_RECORDED_WITHIN_MS = 5_000;
