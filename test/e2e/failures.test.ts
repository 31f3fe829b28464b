import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { type Stack, startStack } from './harness.ts';

const get = async (stack: Stack, path: string, token: string) => {
  const res = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { res, body: (await res.json()) as { code: string; correlation_id: string } };
};

describe('fail closed: audit store unavailable → 503, nothing forwarded', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  test('while another writer holds the database, calls are refused and the backend sees nothing', async () => {
    const token = await stack.alice();
    assert.equal((await get(stack, '/procurement/contracts/12345', token)).res.status, 200);
    const lock = new Database(stack.auditDb);
    lock.exec('BEGIN EXCLUSIVE');
    try {
      const before = stack.procurement.received.length;
      const { res, body } = await get(stack, '/procurement/contracts/12345', token);
      assert.equal(res.status, 503);
      assert.equal(body.code, 'MANDATE_AUDIT_UNAVAILABLE');
      assert.equal(stack.procurement.received.length, before);
      const ready = await fetch(`${stack.url}/readyz`);
      assert.equal(ready.status, 503);
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
    // Recovery needs no restart, and the chain continues intact.
    assert.equal((await get(stack, '/procurement/contracts/12345', token)).res.status, 200);
    assert.equal((await fetch(`${stack.url}/readyz`)).status, 200);
  });
});

describe('upstream failures are answered and audited', () => {
  let stack: Stack;
  let silent: ReturnType<typeof createServer>;
  before(async () => {
    // A backend that accepts connections and never answers.
    silent = createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const silentPort = (silent.address() as { port: number }).port;
    stack = await startStack({
      editConfig(config) {
        const crm = config.backends.find((b: { name: string }) => b.name === 'crm');
        crm.url = `http://127.0.0.1:${silentPort}`;
        crm.timeouts = { connect_ms: 1000, headers_ms: 1000, body_ms: 1000 };
      },
    });
  });
  after(async () => {
    await stack.stop();
    silent.close();
  });

  test('backend down → 502 MANDATE_UPSTREAM_UNREACHABLE, decision and outcome audited', async () => {
    await stack.procurement.close();
    const { res, body } = await get(stack, '/procurement/contracts/12345', await stack.alice());
    assert.equal(res.status, 502);
    assert.equal(body.code, 'MANDATE_UPSTREAM_UNREACHABLE');
    const events = (await stack.auditRows()).filter((r) => r.correlation_id === body.correlation_id);
    assert.deepEqual(
      events.map((e) => [e.kind, e.status, e.reason]),
      [
        ['decision', null, null],
        ['outcome', 502, 'forward.upstream_unreachable'],
      ],
    );
  });

  test('backend silent → 504 MANDATE_UPSTREAM_TIMEOUT', async () => {
    const { res, body } = await get(stack, '/crm/regions/emea/customers/9821', await stack.bob());
    assert.equal(res.status, 504);
    assert.equal(body.code, 'MANDATE_UPSTREAM_TIMEOUT');
    const outcome = (await stack.auditRows()).find(
      (r) => r.correlation_id === body.correlation_id && r.kind === 'outcome',
    )!;
    assert.equal(outcome.reason, 'forward.upstream_timeout');
  });
});
