import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Gateway } from './gateway.ts';
import { handle } from './pipeline/handle.ts';
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
    },
    (req, res) => {
      if (req.url === '/healthz' || req.url === '/readyz') {
        void health(gw, req, res);
        return;
      }
      handle(gw, req, res).catch((e: unknown) => {
        // handle() answers every failure itself; reaching here is a bug, and the connection is dropped.
        log.error({ err: e }, 'unhandled pipeline failure');
        res.destroy();
      });
    },
  );
  server.maxHeadersCount = 2000;
  return server;
}

/** /healthz: the process is up. /readyz: the policy is loaded and the audit store takes writes. */
async function health(gw: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const checks =
    req.url === '/readyz' ? { policy_revision: gw.policy.revision, audit_writable: await gw.audit.isWritable() } : {};
  const ready = !('audit_writable' in checks) || checks.audit_writable;
  const body = JSON.stringify({ status: ready ? 'ok' : 'unavailable', ...checks });
  res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body);
}
