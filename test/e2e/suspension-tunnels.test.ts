import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { mandateCli, type Stack, startStack } from './harness.ts';
import { assertCut, assertOpen, EVENTS, openTunnel } from './tunnel-client.ts';

const OPS_KEY = randomBytes(32).toString('base64url');
// A day-long window, so no boundary falls inside the test; 3 calls per task, the handshake included.
const LIMITS = { window_seconds: 86_400, task: { requests: 3 } };

/**
 * A tunnel outlives the one check of its handshake; suspending its task — by a limit another call of
 * the task crosses, by the kill switch, or by `mandate task suspend` from another process — must end
 * it too, as a revocation does (revocation-tunnels.test.ts), with the suspension in its outcome event.
 */
describe('suspending a task closes the WebSocket tunnels its tokens opened', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      env: { MANDATE_TEST_OPS_KEY: OPS_KEY },
      editConfig: (config) => {
        config.admin = { keys: [{ name: 'ops', secret: 'env:MANDATE_TEST_OPS_KEY', roles: ['admin'] }] };
        config.limits = LIMITS;
      },
    });
  });
  after(() => stack.stop());

  const alice = (txn: string) => stack.alice({ txn });

  test('the kill switch through the admin API: the task’s tunnels close at once, others stay open', async () => {
    const first = await openTunnel(stack, await alice('task-ws-kill'));
    // Another token of the same task: suspension is per task, not per token.
    const second = await openTunnel(stack, await alice('task-ws-kill'));
    const innocent = await openTunnel(stack, await alice('task-ws-other'));
    const suspendedAt = Date.now();
    const res = await fetch(`${stack.url}/_mandate/tasks/task-ws-kill/suspend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPS_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'cut the tunnel' }),
    });
    assert.equal(res.status, 200, await res.text());
    // Made in this process: cut as the suspension is recorded, not at the next poll.
    await assertCut(stack, [first, second], 'limits.task_suspended', suspendedAt, 1000);
    await assertOpen(innocent);
    innocent.ws.close();
    await innocent.closed;
  });

  test('a limit crossed by another call of the task: the tunnel closes with the suspension', async () => {
    const token = await alice('task-ws-limit');
    const tunnel = await openTunnel(stack, token); // call 1 of 3
    const read = () =>
      fetch(`${stack.url}/procurement/contracts/12345`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await read()).status, 200); // 2
    assert.equal((await read()).status, 200); // 3
    await assertOpen(tunnel);
    const crossedAt = Date.now();
    const crossing = await read();
    assert.equal(crossing.status, 429);
    assert.equal(((await crossing.json()) as { limit: string }).limit, 'task.requests');
    await assertCut(stack, [tunnel], 'limits.task_suspended', crossedAt, 1000);
  });

  test('by `mandate task suspend` from another process: cut within the state poll interval', async () => {
    const tunnel = await openTunnel(stack, await alice('task-ws-cli'));
    const cli = await mandateCli([
      'task',
      'suspend',
      'task-ws-cli',
      '--reason',
      'runaway task',
      '--config',
      stack.configFile,
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    // The gateway polls the state database every second; the slack is for a loaded test machine.
    await assertCut(stack, [tunnel], 'limits.task_suspended', Date.now(), 2000);
  });

  test('a tunnel opened for a suspended task is refused at the handshake', async () => {
    const suspend = await fetch(`${stack.url}/_mandate/tasks/task-ws-late/suspend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPS_KEY}` },
    });
    assert.equal(suspend.status, 200, await suspend.text());
    const ws = new WebSocket(`${stack.url.replace(/^http/, 'ws')}${EVENTS}`, {
      headers: { authorization: `Bearer ${await alice('task-ws-late')}` },
    });
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
    assert.equal(res.statusCode, 403);
    const problem = JSON.parse((await res.toArray()).join('')) as { code: string };
    assert.equal(problem.code, 'MANDATE_TASK_SUSPENDED');
    // Answered and closed by the gateway; ws reports the refused handshake as an error when dropped.
    ws.once('error', () => {});
    ws.terminate();
  });
});
