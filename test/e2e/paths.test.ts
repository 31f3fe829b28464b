import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Stack, startStack } from './harness.ts';

/**
 * Path tricks from real gateway CVEs (STANDARDS §7.2–7.3), sent as raw bytes because HTTP clients
 * normalise paths. Each is refused with 400/404 with a valid token, audited, and never reaches a backend.
 */
describe('paths: ambiguous request targets never reach a backend', () => {
  let stack: Stack;
  let token: string;
  before(async () => {
    stack = await startStack();
    token = await stack.alice();
  });
  after(() => stack.stop());

  const cases: [string, number][] = [
    ['/procurement/contracts/../contracts/12345', 400],
    ['/procurement/./contracts/12345', 400],
    ['/procurement/contracts/%2e%2e/contracts/12345', 400],
    ['/procurement/contracts/.%2E/contracts/12345', 400],
    ['/procurement/contracts%2F12345', 400],
    ['/procurement/contracts%2f12345', 400],
    ['/procurement/contracts%5C12345', 400],
    ['//procurement/contracts/12345', 400],
    ['/procurement//contracts/12345', 400],
    ['/procurement/contracts/12345;x=1', 400],
    ['/procurement/contracts/12345%3B', 400],
    ['/procurement/contracts/12345%00', 400],
    ['/procurement/contracts/%252e%252e/12345', 400],
    ['/procurement/contracts/12345/', 400],
    ['/procurement/contracts/%C0%AF12345', 400],
    ['/PROCUREMENT/contracts/12345', 404],
    ['/procurement/contracts/12345abc', 404],
    ['http://internal/procurement/contracts/12345', 400],
  ];

  for (const [target, status] of cases) {
    test(`${target} → ${status}`, async () => {
      const before = stack.procurement.received.length;
      const response = await stack.rawRequest(
        `GET ${target} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
      );
      assert.match(response, new RegExp(`^HTTP/1\\.1 ${status} `));
      const correlationId = /x-mandate-correlation-id: ([0-9a-f]{32})/i.exec(response)?.[1];
      assert.ok(correlationId, 'every response carries the correlation id');
      assert.equal(stack.procurement.received.length, before, 'never reached the backend');
      const events = (await stack.auditRows()).filter((r) => r.correlation_id === correlationId);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.decision, 'deny');
    });
  }

  test('percent-encoded unreserved characters resolve to the canonical path, which is what is forwarded', async () => {
    const before = stack.procurement.received.length;
    const response = await stack.rawRequest(
      `GET /procurement/contr%61cts/%31%32%33%345 HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(response, /^HTTP\/1\.1 200 /);
    assert.equal(stack.procurement.received.at(-1)!.url, '/contracts/12345');
    assert.equal(stack.procurement.received.length, before + 1);
    const correlationId = /x-mandate-correlation-id: ([0-9a-f]{32})/i.exec(response)![1];
    const decision = (await stack.auditRows()).find((r) => r.correlation_id === correlationId)!;
    assert.equal(decision.path, '/procurement/contracts/12345');
  });
});
