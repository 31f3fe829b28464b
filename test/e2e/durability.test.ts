import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { type FaultyDisk, mountFaultyDisk } from './faultfs.ts';
import { limitFileSize, mandateCli, type Stack, startGatewayProcess, startStack } from './harness.ts';
import { PROCUREMENT_AUD, startTokenStack } from './token-exchange-harness.ts';

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

describe('durability: the disk fails an fsync', { timeout: 60_000 }, () => {
  let disk: FaultyDisk;
  before(async () => {
    disk = await mountFaultyDisk();
  });
  after(() => disk.unmount());

  /** A stack whose audit database is on the faulty disk (at FULL, the default: fsync per commit). */
  const startOnDisk = (name: string) =>
    startStack({
      editConfig: (config) => {
        mkdirSync(join(disk.dir, name));
        config.gateway.audit_db = join(disk.dir, name, 'audit.db');
      },
    });
  const readyz = async (stack: Stack) => {
    const res = await fetch(`${stack.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { audit_writable: boolean } };
  };

  test('a failed fsync → 503 and nothing forwarded, and refusals until a restart, even once syncs succeed', async () => {
    const stack = await startOnDisk('call');
    let restarted: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
    try {
      const token = await stack.alice();
      const get = (url = stack.url) => fetch(`${url}${CONTRACT}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await get()).status, 200);
      await stack.auditRows();
      const forwarded = stack.procurement.received.length;

      disk.failSyncs(true);
      const failed = await get();
      assert.equal(failed.status, 503);
      const problem = (await failed.json()) as { code: string; correlation_id: string };
      assert.equal(problem.code, 'MANDATE_AUDIT_UNAVAILABLE');
      assert.ok(
        stack.logs.some((l) => l.includes('audit WAL fsync failed; the audit store is closed')),
        'the failure is logged',
      );

      // Linux may report the next fsync of pages it failed to write as a success: a sync that works
      // again proves nothing about the commits before it, so the store stays closed.
      disk.failSyncs(false);
      const again = await get();
      assert.equal(again.status, 503);
      assert.equal(((await again.json()) as { code: string }).code, 'MANDATE_AUDIT_UNAVAILABLE');
      assert.equal((await readyz(stack)).status, 503);
      assert.equal(stack.procurement.received.length, forwarded, 'nothing reached the backend');

      stack.gateway.kill('SIGTERM');
      await once(stack.gateway, 'exit');
      restarted = await startGatewayProcess(stack.configFile);
      const url = `http://127.0.0.1:${restarted.port}`;
      assert.equal((await get(url)).status, 200);
      assert.equal(stack.procurement.received.length, forwarded + 1);

      const verify = await mandateCli(['audit', 'verify', '--db', stack.auditDb]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      const rows = await stack.auditRows();
      // The failed call's decision was written but never confirmed durable: like a crash's, it stands
      // without an outcome. The call refused afterwards left nothing (the store was closed).
      assert.deepEqual(
        rows.map((r) => [r.kind, r.correlation_id === problem.correlation_id]),
        [
          ['decision', false],
          ['outcome', false],
          ['decision', true],
          ['decision', false],
          ['outcome', false],
        ],
      );
    } finally {
      restarted?.gateway.kill('SIGTERM');
      if (restarted) await once(restarted.gateway, 'exit');
      await stack.stop();
      disk.failSyncs(false);
    }
  });

  test("the state database's fsync fails → a call that must reserve budget is refused and audited, until a restart", async () => {
    // Behavioural limits on, their state database on the faulty disk (the audit database is not).
    const stack = await startStack({
      editConfig: (config) => {
        mkdirSync(join(disk.dir, 'limits'));
        config.gateway.state_db = join(disk.dir, 'limits', 'state.db');
        config.limits = { window_seconds: 86_400, task: { requests: 50 }, agent: { requests: 100_000 } };
      },
    });
    try {
      const call = async (txn: string) => {
        const token = await stack.alice({ txn });
        const res = await fetch(`${stack.url}${CONTRACT}`, { headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, body: (await res.json()) as { code?: string; correlation_id?: string } };
      };
      assert.equal((await call('task-1')).status, 200);
      const forwarded = stack.procurement.received.length;

      // A new task's first call reserves its counts in the state database, and waits for the fsync.
      disk.failSyncs(true);
      const refused = await call('task-2');
      assert.equal(refused.status, 503);
      assert.equal(refused.body.code, 'MANDATE_LIMITS_UNAVAILABLE');
      disk.failSyncs(false);
      const again = await call('task-3');
      assert.equal(again.status, 503, 'no budget is spent until a restart');
      assert.equal(again.body.code, 'MANDATE_LIMITS_UNAVAILABLE');
      assert.equal(stack.procurement.received.length, forwarded, 'nothing reached the backend');

      // Each refusal is audited as an error event (a 5xx): the audit database is not on the faulty disk.
      const refusals = (await stack.auditRows()).filter((r) => r.decision === 'deny');
      assert.deepEqual(
        refusals.map((r) => [r.kind, r.correlation_id, r.reason, r.status, r.txn]),
        [
          ['error', refused.body.correlation_id, 'limits.unavailable', 503, 'task-2'],
          ['error', again.body.correlation_id, 'limits.unavailable', 503, 'task-3'],
        ],
      );
    } finally {
      await stack.stop();
      disk.failSyncs(false);
    }
  });

  test("the state database's fsync fails → no token for a new task, no call held for approval: 503, audited", async () => {
    const tx = await startTokenStack({
      editConfig: (config) => {
        mkdirSync(join(disk.dir, 'tokens'));
        config.gateway.state_db = join(disk.dir, 'tokens', 'state.db');
        // Cancelling waits for the user's approval, stored in the state database.
        const cancel = config.routes.find((r: { action: string }) => r.action === 'procurement.contract.cancel');
        cancel.tier = 'approval';
        cancel.body = { max_bytes: 4096, fields: [] };
        config.approvals = { expires_seconds: 900 };
      },
    });
    try {
      const exchange = (txn: string) =>
        tx.delegate(tx.agents.hr, { resource: PROCUREMENT_AUD, scope: 'procurement:read', txn });
      assert.ok((await exchange('task-a')).access_token);

      // Issuing a token for a new task claims it for its user in the state database, at FULL.
      disk.failSyncs(true);
      const error = await exchange('task-b').then(
        () => assert.fail('a token was issued'),
        (e: unknown) => e,
      );
      // openid-client reads an error body only from a 400 or 401 (RFC 6749 §5.2) and hands over the
      // response itself for any other status.
      const response = (error as { cause?: unknown }).cause;
      assert.ok(response instanceof Response, String(error));
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { error: string }).error, 'temporarily_unavailable');
      assert.ok(
        tx.stack.logs.some((l) => l.includes('"msg":"token exchange failed"') && l.includes('limits.unavailable')),
        'the cause is logged',
      );

      // A call to hold for approval: the approval cannot be stored, so the agent gets no approval id
      // for a request the user could never see.
      const forwarded = tx.stack.procurement.received.length;
      const held = await fetch(`${tx.stack.url}/procurement/contracts/12345/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await tx.stack.alice()}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(held.status, 503);
      const problem = (await held.json()) as { code: string; correlation_id: string; approval_id?: string };
      assert.equal(problem.code, 'MANDATE_STATE_UNAVAILABLE');
      assert.equal(problem.approval_id, undefined);
      assert.equal(tx.stack.procurement.received.length, forwarded, 'nothing reached the backend');
      assert.ok(
        tx.stack.logs.some((l) => l.includes('"msg":"call failed"') && l.includes(problem.correlation_id)),
        'the cause is logged with the correlation id',
      );

      const rows = await tx.stack.auditRows();
      assert.deepEqual(
        rows.filter((r) => r.kind === 'token_refused').map((r) => [r.reason, r.status, r.txn]),
        [['limits.unavailable', 503, 'task-b']],
      );
      // The request is audited before the approval is stored (no approval a user can see without its
      // request in the chain), so the chain shows it requested, then the call's failure.
      assert.deepEqual(
        rows.filter((r) => r.correlation_id === problem.correlation_id).map((r) => [r.kind, r.reason, r.status]),
        [
          ['approval_requested', null, 403],
          ['error', 'state.unavailable', 503],
        ],
      );
    } finally {
      await tx.stop();
      disk.failSyncs(false);
    }
  });

  test('/readyz finds a failing fsync before any call does, and nothing is forwarded', async () => {
    const stack = await startOnDisk('readyz');
    try {
      const token = await stack.alice();
      const get = () => fetch(`${stack.url}${CONTRACT}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await get()).status, 200);
      await stack.auditRows();
      assert.equal((await readyz(stack)).status, 200);
      const forwarded = stack.procurement.received.length;

      disk.failSyncs(true);
      const down = await readyz(stack);
      assert.equal(down.status, 503);
      assert.equal(down.body.audit_writable, false);
      const res = await get();
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { code: string }).code, 'MANDATE_AUDIT_UNAVAILABLE');
      assert.equal(stack.procurement.received.length, forwarded, 'nothing reached the backend');
      assert.equal(
        (await mandateCli(['audit', 'verify', '--db', stack.auditDb])).code,
        0,
        'the chain holds what was committed before',
      );
    } finally {
      await stack.stop();
      disk.failSyncs(false);
    }
  });
});
