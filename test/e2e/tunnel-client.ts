import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import type { Stack } from './harness.ts';

/** The demo's contract-events WebSocket, the tunnel these tests open. */
export const EVENTS = '/procurement/contracts/12345/events';

/** An open tunnel through the gateway, with the correlation id of its 101 and a promise of its close code. */
export interface Tunnel {
  readonly ws: WebSocket;
  readonly token: string;
  readonly correlationId: string;
  readonly closed: Promise<number>;
}

/** Opens a tunnel to the contract events with `token`, as an agent would. */
export async function openTunnel(stack: Stack, token: string): Promise<Tunnel> {
  const ws = new WebSocket(`${stack.url.replace(/^http/, 'ws')}${EVENTS}`, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  let correlationId = '';
  ws.once('upgrade', (res) => {
    correlationId = String(res.headers['x-mandate-correlation-id']);
  });
  const closed = once(ws, 'close').then(([code]) => code as number);
  await once(ws, 'open');
  return { ws, token, correlationId, closed };
}

/** The tunnel is still open and relaying: a ping is answered. */
export async function assertOpen(tunnel: Tunnel): Promise<void> {
  assert.equal(tunnel.ws.readyState, WebSocket.OPEN);
  const id = Math.floor(Math.random() * 1e6);
  const pong = new Promise<void>((resolve) => {
    tunnel.ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as { id?: number }).id === id) resolve();
    });
  });
  tunnel.ws.send(JSON.stringify({ type: 'ping', id }));
  await pong;
}

/**
 * The tunnels are cut within `withinMs` of `since`, without a close frame (1006), and each one's
 * audit events are its decision and an outcome with status 101 and `reason`. The time is taken once
 * all have closed and before the audit rows are read (which waits for every open tunnel's outcome).
 */
export async function assertCut(
  stack: Stack,
  tunnels: readonly Tunnel[],
  reason: string,
  since: number,
  withinMs: number,
): Promise<void> {
  const codes = await Promise.all(
    tunnels.map((t) => Promise.race([t.closed, sleep(5000, 'still open', { ref: false })])),
  );
  const elapsed = Date.now() - since;
  assert.deepEqual(
    codes,
    tunnels.map(() => 1006),
    'cut under the agent, without a close frame',
  );
  assert.ok(elapsed < withinMs, `closed after ${elapsed} ms`);
  const rows = await stack.auditRows();
  for (const tunnel of tunnels) {
    assert.deepEqual(
      rows.filter((r) => r.correlation_id === tunnel.correlationId).map((e) => [e.kind, e.status, e.reason]),
      [
        ['decision', null, null],
        ['outcome', 101, reason],
      ],
    );
  }
}
