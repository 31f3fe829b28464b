import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { verifyChain } from '../../gateway/pipeline/6-audit/verify.ts';
import { type Stack, startStack } from './harness.ts';

const MB = 1024 * 1024;

/**
 * Graceful stop of the real gateway process: on SIGTERM it stops accepting connections, lets the calls
 * in flight finish within `gateway.shutdown_grace_seconds` (their outcome events written), cuts the
 * rest, and exits.
 */
describe('shutdown: calls in flight finish, or are cut after the grace period, and are audited', () => {
  /**
   * Starts an upload whose body stops after its first MB until `finish` is called, and resolves once
   * the call's decision is committed: the call is in flight, forwarded, with its body half sent.
   */
  async function uploadInFlight(stack: Stack) {
    const token = await stack.alice({ scope: 'procurement:read procurement:write' });
    const traceId = randomBytes(16).toString('hex');
    let finish!: () => void;
    const rest = new Promise<void>((resolve) => {
      finish = resolve;
    });
    async function* body() {
      yield Buffer.alloc(MB, 1);
      await rest;
      yield Buffer.alloc(MB, 2);
    }
    const response = fetch(`${stack.url}/procurement/documents`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      },
      body: body(),
      duplex: 'half',
    } as RequestInit);
    response.catch(() => undefined); // awaited by the test; the second test expects it to fail
    for (let attempt = 0; ; attempt++) {
      const rows = await stack.auditRows().catch(() => []);
      if (rows.some((r) => r.kind === 'decision' && r.correlation_id === traceId)) break;
      assert.ok(attempt < 200, 'the upload was never allowed');
      await new Promise((r) => setTimeout(r, 25));
    }
    return { traceId, response, finish };
  }

  const refusesConnections = async (url: string) => {
    const { hostname, port } = new URL(url);
    for (let attempt = 0; attempt < 100; attempt++) {
      const code = await new Promise<string | undefined>((resolve) => {
        const socket = connect(Number(port), hostname);
        socket.once('connect', () => {
          socket.destroy();
          resolve(undefined);
        });
        socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      });
      if (code === 'ECONNREFUSED') return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  };

  const eventsOf = async (stack: Stack, traceId: string) =>
    (await stack.auditRows()).filter((r) => r.correlation_id === traceId);

  test('SIGTERM: no new connection, the upload in flight completes, its outcome is written, exit 0', async () => {
    const stack = await startStack();
    try {
      const { traceId, response, finish } = await uploadInFlight(stack);
      const exited = once(stack.gateway, 'exit');
      stack.gateway.kill('SIGTERM');
      assert.ok(await refusesConnections(stack.url), 'still accepting connections after SIGTERM');

      finish();
      const res = await response;
      assert.equal(res.status, 201);
      assert.equal(((await res.json()) as { bytes: number }).bytes, 2 * MB);
      assert.deepEqual(await exited, [0, null]);

      const events = await eventsOf(stack, traceId);
      assert.deepEqual(
        events.map((e) => [e.kind, e.status]),
        [
          ['decision', null],
          ['outcome', 201],
        ],
      );
      assert.equal(events[1]!.bytes_in, 2 * MB);
      assert.equal(verifyChain(stack.auditDb).ok, true);
    } finally {
      await stack.stop();
    }
  });

  test('a call still in flight when the grace period is over is cut, and its outcome records the cut', async () => {
    const stack = await startStack({
      editConfig: (c) => {
        c.gateway.shutdown_grace_seconds = 1;
      },
    });
    try {
      const { traceId, response, finish } = await uploadInFlight(stack);
      const exited = once(stack.gateway, 'exit');
      const signalledMs = Date.now();
      stack.gateway.kill('SIGTERM');
      await assert.rejects(response, 'the agent sees its connection cut');
      assert.deepEqual(await exited, [0, null]);
      assert.ok(Date.now() - signalledMs >= 900, 'cut before the grace period was over');
      finish();

      const events = await eventsOf(stack, traceId);
      assert.deepEqual(
        events.map((e) => [e.kind, e.reason]),
        [
          ['decision', null],
          ['outcome', 'forward.client_aborted'],
        ],
      );
      assert.equal(verifyChain(stack.auditDb).ok, true);
    } finally {
      await stack.stop();
    }
  });
});
