import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { mintDelegationToken } from '../../gateway/dev/mint.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { verifyChain } from '../../gateway/pipeline/6-audit/verify.ts';
import { tempDir } from '../temp-dir.ts';
import { ISSUER, PROCUREMENT_AUD, startTestServers, type TestServers, writeTestConfig } from './harness.ts';
import { startInProcessGateway } from './in-process-gateway.ts';

const DAY_MS = 86_400_000;

/**
 * A task ending for going unused, in-process (the gateway's clock is the test's, so days can pass): the
 * clean-up's ending reaches the audit chain as a `task_ended` event on the task's trail, and the task's
 * next call is refused.
 */
describe('an idle task ends on the audit trail', () => {
  let servers: TestServers;
  let gateway: Awaited<ReturnType<typeof startInProcessGateway>>;
  let gw: Gateway;
  let url: string;
  let auditDb: string;
  let nowMs = Date.now();

  before(async () => {
    servers = await startTestServers();
    const { configFile, config } = writeTestConfig(tempDir('mandate-task-ended-'), servers, (c) => {
      c.limits = { task: { requests: 100 }, task_idle_days: 1 };
    });
    auditDb = config.gateway.audit_db;
    gateway = await startInProcessGateway(configFile, { now: () => nowMs });
    ({ gw, url } = gateway);
  });

  after(async () => {
    await gateway.close();
    await servers.close();
  });

  const listContracts = async () => {
    const token = await mintDelegationToken(servers.keys.key, {
      issuer: ISSUER,
      user: 'alice',
      agents: ['procurement-agent'],
      audience: PROCUREMENT_AUD,
      scope: 'procurement:read',
      txn: 'task-gone-quiet',
      issuedAt: Math.floor(nowMs / 1000),
      extra: { roles: ['procurement'] },
    });
    const res = await fetch(`${url}/procurement/contracts?vendor=X`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as { code?: string } };
  };

  const eventsOf = (txn: string) => {
    const db = new Database(auditDb, { readonly: true });
    try {
      return db.prepare('SELECT * FROM all_events WHERE txn = ? ORDER BY seq').all(txn) as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };

  test('the clean-up ends the task, records task_ended on its trail, and its next call is refused', async () => {
    assert.equal((await listContracts()).status, 200);
    const lastUsedMs = nowMs;

    nowMs += DAY_MS + 60_000;
    assert.deepEqual(
      gw.limits.endIdleTasks(nowMs).map((t) => t.txn),
      ['task-gone-quiet'],
    );
    let ended: Record<string, unknown> | undefined;
    for (let attempt = 0; attempt < 100 && !ended; attempt++) {
      ended = eventsOf('task-gone-quiet').find((e) => e.kind === 'task_ended');
      if (!ended) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(ended, 'a task_ended event');
    assert.equal(ended.user, 'alice');
    assert.equal(ended.agent, 'procurement-agent');
    assert.equal(ended.method, 'INTERNAL');
    assert.equal(ended.path, 'limits task clean-up');
    assert.equal(ended.time, new Date(nowMs).toISOString());
    assert.deepEqual(JSON.parse(ended.detail as string), {
      txn: 'task-gone-quiet',
      last_used: new Date(lastUsedMs).toISOString(),
      idle_days: 1,
    });

    // A fresh token for the ended task: refused, and that refusal is on the same trail, after the ending.
    const refused = await listContracts();
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'MANDATE_TASK_ENDED');
    const trail = eventsOf('task-gone-quiet');
    assert.deepEqual(
      trail.map((e) => e.kind),
      ['decision', 'outcome', 'task_ended', 'denial'],
    );
    assert.equal(trail.at(-1)!.reason, 'limits.task_ended');
    assert.equal(verifyChain(auditDb).ok, true);
  });
});
