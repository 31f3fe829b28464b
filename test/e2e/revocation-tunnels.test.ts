import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { mandateCli, type Stack, startStack } from './harness.ts';

const OPS_KEY = randomBytes(32).toString('base64url');
const EVENTS = '/procurement/contracts/12345/events';

const jtiOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

/** An open tunnel through the gateway, with the correlation id of its 101 and a promise of its close code. */
interface Tunnel {
  readonly ws: WebSocket;
  readonly token: string;
  readonly correlationId: string;
  readonly closed: Promise<number>;
}

async function openTunnel(stack: Stack, token: string): Promise<Tunnel> {
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

/**
 * A tunnel outlives the one authorization of its handshake; revoking the token that opened it must
 * end it too — by jti, user, task or agent, through the admin API (at once) or `mandate revoke` from
 * another process (within the state database's 1 s poll) — with the reason in its outcome event.
 */
describe('revocation closes the WebSocket tunnels its token opened', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      env: { MANDATE_TEST_OPS_KEY: OPS_KEY },
      editConfig: (config) => {
        config.admin = { keys: [{ name: 'ops', secret: 'env:MANDATE_TEST_OPS_KEY', roles: ['admin'] }] };
      },
    });
  });
  after(() => stack.stop());

  const revoke = async (target: string, value: string) => {
    const res = await fetch(`${stack.url}/_mandate/admin/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPS_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target, value, reason: 'cut the tunnel' }),
    });
    assert.equal(res.status, 201, await res.text());
  };

  /** The tunnel closes within `withinMs` without a close frame, and its outcome records the revocation. */
  async function assertCut(tunnel: Tunnel, revokedAt: number, withinMs: number): Promise<void> {
    const code = await Promise.race([tunnel.closed, sleep(5000, 'still open', { ref: false })]);
    assert.equal(code, 1006, 'cut under the agent, without a close frame');
    const elapsed = Date.now() - revokedAt;
    assert.ok(elapsed < withinMs, `closed after ${elapsed} ms`);
    const events = (await stack.auditRows()).filter((r) => r.correlation_id === tunnel.correlationId);
    assert.deepEqual(
      events.map((e) => [e.kind, e.status, e.reason]),
      [
        ['decision', null, null],
        ['outcome', 101, 'authn.token_revoked'],
      ],
    );
  }

  /** The tunnel is still open and relaying: a ping is answered. */
  async function assertOpen(tunnel: Tunnel): Promise<void> {
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

  test('by jti, user, task and agent through the admin API: only the tunnels of the revoked tokens close', async () => {
    const byJti = await openTunnel(stack, await stack.alice({ txn: 'task-ws-jti' }));
    const byUser = await openTunnel(stack, await stack.alice({ user: 'carol', txn: 'task-ws-user' }));
    const byTxn = await openTunnel(stack, await stack.alice({ txn: 'task-ws-txn' }));
    const byAgent = await openTunnel(stack, await stack.alice({ agents: ['sub-agent', 'rogue-agent'], txn: 'x' }));
    const innocent = await openTunnel(stack, await stack.alice({ txn: 'task-ws-innocent' }));
    // Another token's jti: no tunnel of ours is affected.
    await revoke('jti', jtiOf(await stack.alice({ txn: 'task-ws-jti' })));
    await assertOpen(byJti);

    const cases: [Tunnel, string, string][] = [
      [byJti, 'jti', jtiOf(byJti.token)],
      [byUser, 'user', 'carol'],
      [byTxn, 'txn', 'task-ws-txn'],
      [byAgent, 'agent', 'rogue-agent'],
    ];
    for (const [tunnel, target, value] of cases) {
      const revokedAt = Date.now();
      await revoke(target, value);
      // Made in this process: the tunnel is cut as the revocation is recorded, not at the next poll.
      await assertCut(tunnel, revokedAt, 1000);
    }
    await assertOpen(innocent);
    innocent.ws.close();
    await innocent.closed;
  });

  test('by `mandate revoke` from another process: cut within the revocation poll interval', async () => {
    const token = await stack.alice({ txn: 'task-ws-cli' });
    const tunnel = await openTunnel(stack, token);
    const cli = await mandateCli([
      'revoke',
      '--txn',
      'task-ws-cli',
      '--reason',
      'runaway task',
      '--config',
      stack.configFile,
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    // The gateway polls the state database every second; the slack is for a loaded test machine.
    await assertCut(tunnel, Date.now(), 2000);
  });
});
