import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { limitFileSize, mandateCli, type Stack, startStack } from './harness.ts';

// /readyz while the audit store cannot commit (durability.test.ts's full disk): a load balancer must
// stop sending traffic, and send it again once commits succeed — without a restart.

describe('readiness follows whether the audit store can commit', { timeout: 60_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  const readyz = async () => {
    const res = await fetch(`${stack.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; audit_writable: boolean } };
  };

  test('disk full → /readyz 503 (before any call fails); space back → 200 again, and calls flow', async () => {
    const token = await stack.alice();
    const get = () =>
      fetch(`${stack.url}/procurement/contracts/12345`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await get()).status, 200);
    await stack.auditRows();
    assert.deepEqual((await readyz()).status, 200);

    limitFileSize(stack.gateway.pid!, 4096);
    try {
      // No request has failed yet: the probe itself finds out, by committing.
      const down = await readyz();
      assert.equal(down.status, 503);
      assert.deepEqual(down.body.status, 'unavailable');
      assert.equal(down.body.audit_writable, false);
      const before = stack.procurement.received.length;
      assert.equal((await get()).status, 503);
      assert.equal((await readyz()).status, 503, 'still not ready');
      assert.equal(stack.procurement.received.length, before, 'nothing reached the backend');
    } finally {
      limitFileSize(stack.gateway.pid!, 'unlimited');
    }

    const up = await readyz();
    assert.equal(up.status, 200);
    assert.equal(up.body.audit_writable, true);
    assert.equal((await get()).status, 200);
    assert.equal(stack.gateway.exitCode, null, 'the gateway kept running');
    // The probe's write is outside the chain: the audit holds exactly the two calls.
    assert.deepEqual(
      (await stack.auditRows()).map((r) => r.kind),
      ['decision', 'outcome', 'decision', 'outcome'],
    );
    assert.equal((await mandateCli(['audit', 'verify', '--db', stack.auditDb])).code, 0);
  });
});
