import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { limitFileSize, mandateCli, type Stack, startGatewayProcess, startStack } from './harness.ts';

const CONTRACT = '/procurement/contracts/12345';

/** Keeps `workers` requests in flight until `stop()` or the first connection error; counts answers. */
function load(url: string, token: string, workers: number) {
  let stopped = false;
  const statuses: number[] = [];
  const done = Promise.all(
    Array.from({ length: workers }, async () => {
      while (!stopped) {
        try {
          const res = await fetch(`${url}${CONTRACT}`, { headers: { authorization: `Bearer ${token}` } });
          await res.arrayBuffer();
          statuses.push(res.status);
        } catch {
          return; // the gateway went away
        }
      }
    }),
  );
  return {
    statuses,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

describe('durability: kill -9 under load', { timeout: 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  test('after a restart the chain verifies, and every request the backend received has a committed decision', async () => {
    const token = await stack.alice();
    const traffic = load(stack.url, token, 16);
    // Enough traffic that the kill lands mid-flight, below the demo backend's 1000-entry log.
    const deadline = Date.now() + 30_000;
    while (stack.procurement.received.length < 300) {
      assert.ok(Date.now() < deadline, `only ${stack.procurement.received.length} requests reached the backend`);
      await new Promise((r) => setTimeout(r, 10));
    }
    stack.gateway.kill('SIGKILL');
    await once(stack.gateway, 'exit');
    await traffic.stop();
    assert.ok(traffic.statuses.filter((s) => s === 200).length >= 100, 'the load reached the backend');

    const restarted = await startGatewayProcess(stack.configFile);
    try {
      const verify = await mandateCli(['audit', 'verify', '--db', stack.auditDb]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);

      const db = new Database(stack.auditDb, { readonly: true });
      const decided = new Set(
        (db.prepare("SELECT correlation_id FROM all_events WHERE kind = 'decision'").pluck().all() as string[]).map(
          String,
        ),
      );
      db.close();
      const received = stack.procurement.received.map((r) => String(r.headers['x-mandate-correlation-id']));
      assert.ok(received.length >= 300);
      const unaudited = received.filter((id) => !decided.has(id));
      assert.deepEqual(unaudited, [], 'requests the backend received without a committed decision event');

      // The restarted gateway continues the same chain.
      const res = await fetch(`http://127.0.0.1:${restarted.port}${CONTRACT}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 200);
      assert.equal((await mandateCli(['audit', 'verify', '--db', stack.auditDb])).code, 0);
    } finally {
      restarted.gateway.kill('SIGTERM');
      await once(restarted.gateway, 'exit');
    }
  });
});

describe('durability: the disk fills up', { timeout: 60_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  test('no space → 503 and nothing forwarded; space back → traffic resumes without a restart', async () => {
    const token = await stack.alice();
    const get = () => fetch(`${stack.url}${CONTRACT}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await get()).status, 200);
    await stack.auditRows(); // the outcome too is committed

    limitFileSize(stack.gateway.pid!, 4096);
    try {
      const before = stack.procurement.received.length;
      for (let i = 0; i < 5; i++) {
        const res = await get();
        assert.equal(res.status, 503);
        assert.equal(((await res.json()) as { code: string }).code, 'MANDATE_AUDIT_UNAVAILABLE');
      }
      assert.equal(stack.procurement.received.length, before, 'nothing reached the backend');
    } finally {
      limitFileSize(stack.gateway.pid!, 'unlimited');
    }

    assert.equal((await get()).status, 200);
    assert.equal(stack.gateway.exitCode, null, 'the gateway kept running');
    const rows = await stack.auditRows();
    assert.deepEqual(
      rows.map((r) => r.kind),
      ['decision', 'outcome', 'decision', 'outcome'],
      'the refused calls could not be recorded; the chain holds exactly what was committed',
    );
    assert.equal((await mandateCli(['audit', 'verify', '--db', stack.auditDb])).code, 0);
  });
});
