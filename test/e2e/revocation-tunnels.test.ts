import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { mandateCli, type Stack, startStack } from './harness.ts';
import { assertCut, assertOpen, openTunnel, type Tunnel } from './tunnel-client.ts';

const OPS_KEY = randomBytes(32).toString('base64url');

const jtiOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

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
      await assertCut(stack, [tunnel], 'authn.token_revoked', revokedAt, 1000);
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
    await assertCut(stack, [tunnel], 'authn.token_revoked', Date.now(), 2000);
  });
});
