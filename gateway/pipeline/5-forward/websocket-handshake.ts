import type { IncomingHttpHeaders } from 'node:http';
import { MandateError } from '../../errors.ts';

/**
 * The end-to-end fields of a WebSocket opening handshake (RFC 6455 §4.1, §11.3): the backend needs
 * them to answer the agent, so a tunnel adds them to the upstream allow-list. `Connection` and
 * `Upgrade` are hop-by-hop and are set afresh by the tunnel for its own hop.
 */
export const WEBSOCKET_HANDSHAKE_HEADERS: readonly string[] = [
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
];

/**
 * The only upgrade the gateway tunnels: `GET` with `Upgrade: websocket` (RFC 6455 §4.1). Anything
 * else is refused before any credential is looked at — `h2c` in particular, whose upgrade through a
 * proxy smuggles HTTP/2 requests past per-request checks (RFC 9113 §3.1, STANDARDS §7.1). A list
 * (`websocket, h2c`) is refused too rather than picked from.
 *
 * @throws MandateError MANDATE_UPGRADE_UNSUPPORTED
 */
export function assertWebSocketHandshake(req: {
  readonly method?: string;
  readonly headers: IncomingHttpHeaders;
}): void {
  const upgrade = req.headers.upgrade?.trim().toLowerCase();
  if (upgrade !== 'websocket') {
    throw new MandateError('MANDATE_UPGRADE_UNSUPPORTED', 'only Upgrade: websocket is tunnelled');
  }
  if (req.method !== 'GET') {
    throw new MandateError('MANDATE_UPGRADE_UNSUPPORTED', 'a WebSocket handshake is a GET request');
  }
}
