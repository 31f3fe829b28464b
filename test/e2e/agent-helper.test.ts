import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { decodeJwt } from 'jose';
import { type DelegateOptions, Delegation, delegate, MandateAgentError, MandateRefusal } from 'mandate/agent';
import { MANDATE_ISSUER, PROCUREMENT_AUD, startTokenStack, type TokenStack } from './token-exchange-harness.ts';

const CANCEL_12345 = [{ type: 'procurement_contract', actions: ['cancel'], identifier: '12345' }];
/** Issued delegations live this long here, so a test can run a task across several of them. */
const LIFETIME_SECONDS = 6;
const RENEW_BEFORE_SECONDS = 2;

const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));
/** What a promise that must fail was rejected with. */
const rejection = (promise: Promise<unknown>, what: string) =>
  promise.then(
    () => assert.fail(what),
    (e: unknown) => e,
  );

describe('agent helper (mandate/agent): user token + agent key in, tool calls through Mandate out', () => {
  let tx: TokenStack;
  before(async () => {
    tx = await startTokenStack({
      editConfig(config) {
        config.token_service.token_lifetime_seconds = LIFETIME_SECONDS;
      },
    });
  });
  after(() => tx.stop());

  /** As an agent developer writes it: alice's token from the real IdP, hr-agent's own key. */
  const options = (task: DelegateOptions['task'], overrides: Partial<DelegateOptions> = {}): DelegateOptions => ({
    mandate: tx.stack.url,
    // The test's Mandate is reached at 127.0.0.1 but named https://mandate.test, as behind a load balancer.
    issuer: MANDATE_ISSUER,
    userToken: () => tx.idp.accessToken('alice'),
    agent: { id: tx.agents.hr.id, key: tx.agents.hr.key, kid: tx.agents.hr.kid },
    renewBeforeSeconds: RENEW_BEFORE_SECONDS,
    task,
    ...overrides,
  });
  const cancelTask = (txn: string) =>
    options({
      resource: PROCUREMENT_AUD,
      scope: ['procurement:read', 'procurement:write'],
      authorizationDetails: CANCEL_12345,
      intent: 'cancel my contractor agreement with vendor X',
      txn,
    });
  const rowsOf = async (txn: string) => (await tx.stack.auditRows()).filter((r) => r.txn === txn);
  const grants = (rows: Record<string, unknown>[]) =>
    rows.filter((r) => r.kind === 'token_issued').map((r) => JSON.parse(r.detail as string).grant as string);

  test('exchanges the IdP token at the discovered endpoint and calls the backend through Mandate', async () => {
    const task = await delegate(cancelTask('task-helper-1'));
    assert.ok(task instanceof Delegation);
    assert.equal(task.txn, 'task-helper-1');
    assert.equal(task.scope, 'procurement:read procurement:write');

    const res = await task.fetch('/procurement/contracts/12345');
    assert.equal(res.status, 200);
    const seen = tx.stack.procurement.received.at(-1)!;
    assert.equal(seen.url, '/contracts/12345');
    assert.equal(seen.headers['x-mandate-user'], 'alice');
    assert.equal(seen.headers['x-mandate-agent'], 'hr-agent');
    assert.equal(seen.headers['x-mandate-txn'], 'task-helper-1');
    assert.equal(seen.headers.authorization, `Bearer ${tx.stack.secrets.procurement}`, 'the backend gets its own');

    const rows = await rowsOf('task-helper-1');
    const issued = rows.find((r) => r.kind === 'token_issued')!;
    assert.equal(issued.user, 'alice');
    assert.equal(issued.agent, 'hr-agent');
    assert.equal(JSON.parse(issued.detail as string).grant, 'delegation');
    const call = rows.find((r) => r.kind === 'decision')!;
    assert.equal(call.jti, issued.jti, 'the call carried the issued delegation');
    assert.equal(call.action, 'procurement.contract.read');
  });

  test('renews before expiry, once for concurrent calls, keeping the task across expiries', async () => {
    const task = await delegate(cancelTask('task-helper-renew'));
    const first = await task.token();
    const firstExpMs = (decodeJwt(first).exp as number) * 1000;

    // Inside the renewal window: five concurrent calls share one renewal.
    await sleepUntil(task.expiresAt.getTime() - RENEW_BEFORE_SECONDS * 1000 + 200);
    const burst = await Promise.all(Array.from({ length: 5 }, () => task.fetch('/procurement/contracts/12345')));
    assert.deepEqual(
      burst.map((r) => r.status),
      [200, 200, 200, 200, 200],
    );
    assert.deepEqual(grants(await rowsOf('task-helper-renew')), ['delegation', 'renewal']);
    const second = await task.token();
    assert.notEqual(second, first);
    const claims = decodeJwt(second);
    assert.equal(claims.txn, 'task-helper-renew');
    assert.deepEqual(claims.act, { sub: 'hr-agent', iss: MANDATE_ISSUER });
    assert.equal(claims.task_started_at, decodeJwt(first).task_started_at);

    // Past the first token's expiry: it is refused, the task's calls still go through.
    await sleepUntil(firstExpMs + 500);
    const stale = await fetch(`${tx.stack.url}/procurement/contracts/12345`, {
      headers: { authorization: `Bearer ${first}` },
    });
    assert.equal(stale.status, 401);
    assert.equal(((await stale.json()) as { code: string }).code, 'MANDATE_AUTHN_TOKEN_EXPIRED');
    assert.equal((await task.fetch('/procurement/contracts/12345')).status, 200);

    const rows = await rowsOf('task-helper-renew');
    // One more renewal if that call fell into the second token's renewal window (timing).
    const [initial, ...renewals] = grants(rows);
    assert.equal(initial, 'delegation');
    assert.ok(renewals.length >= 1 && renewals.length <= 2 && renewals.every((g) => g === 'renewal'), `${renewals}`);
    const decisions = rows.filter((r) => r.kind === 'decision');
    assert.equal(decisions.length, 6);
    assert.ok(decisions.every((r) => r.decision === 'allow' && r.user === 'alice'));
  });

  test("Mandate's refusals arrive as MandateRefusal: code, reasons, correlation id", async () => {
    const task = await delegate(cancelTask('task-helper-refusal'));
    const before = tx.stack.procurement.received.length;
    const drift = await rejection(
      task.fetch('/procurement/contracts/12346/cancel', { method: 'POST' }),
      'the drift was not refused',
    );
    assert.ok(drift instanceof MandateRefusal, String(drift));
    assert.equal(drift.code, 'MANDATE_AUTHZ_DENIED');
    assert.equal(drift.status, 403);
    assert.equal(drift.at, 'proxy');
    assert.ok(drift.reasons.includes('intent.identifier_mismatch'), drift.reasons.join());
    assert.equal(tx.stack.procurement.received.length, before, 'never reached the backend');
    const denial = (await rowsOf('task-helper-refusal')).find((r) => r.kind === 'denial')!;
    assert.equal(drift.correlationId, denial.correlation_id);

    // A backend's own error is the tool's business: returned, not thrown (12345 cancelled twice).
    assert.equal((await task.fetch('/procurement/contracts/12345/cancel', { method: 'POST' })).status, 200);
    const again = await task.fetch('/procurement/contracts/12345/cancel', { method: 'POST' });
    assert.equal(again.status, 409);

    // At the token endpoint: amplification (RFC 6749 §5.2 invalid_scope), audited, no delegation.
    const amplified = await rejection(
      delegate(options({ resource: PROCUREMENT_AUD, scope: 'procurement:read crm:read' })),
      'a delegation was issued',
    );
    assert.ok(amplified instanceof MandateRefusal, String(amplified));
    assert.equal(amplified.code, 'invalid_scope');
    assert.equal(amplified.status, 400);
    assert.equal(amplified.at, 'token_endpoint');
    // The token endpoint names its audit event too, as the proxy does.
    const amplifiedRow = (await tx.stack.auditRows()).find((r) => r.correlation_id === amplified.correlationId);
    assert.equal(amplifiedRow?.kind, 'token_refused');

    // Another agent's key under hr-agent's name: client authentication fails (401 invalid_client).
    const impostor = await rejection(
      delegate(
        options(
          { resource: PROCUREMENT_AUD, scope: 'procurement:read' },
          { agent: { id: 'hr-agent', key: tx.agents.other.key, kid: tx.agents.hr.kid } },
        ),
      ),
      'a delegation was issued',
    );
    assert.ok(impostor instanceof MandateRefusal, String(impostor));
    assert.equal(impostor.code, 'invalid_client');
    assert.equal(impostor.status, 401);
    const refused = (await tx.stack.auditRows()).filter((r) => r.kind === 'token_refused');
    assert.ok(refused.some((r) => r.reason === 'policy.denied' && r.user === 'alice'));
    assert.ok(refused.some((r) => r.reason === 'client_assertion.signature_invalid'));
  });

  test('never sends the delegation to another origin, and never shows it', async () => {
    let hits = 0;
    const elsewhere = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    elsewhere.listen(0, '127.0.0.1');
    await once(elsewhere, 'listening');
    const otherUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/procurement/contracts/12345`;
    try {
      const task = await delegate(cancelTask('task-helper-origin'));
      for (const input of [otherUrl, new URL(otherUrl), new Request(otherUrl), '//example.com/x']) {
        const error = await rejection(task.fetch(input), `sent to ${String(input)}`);
        assert.ok(error instanceof MandateAgentError, String(error));
        assert.equal(error.code, 'ERR_MANDATE_FOREIGN_ORIGIN');
      }
      assert.equal(hits, 0, 'the other server saw no request at all');

      const token = await task.token();
      const signature = token.split('.')[2]!;
      assert.ok(!inspect(task, { showHidden: true, depth: 5 }).includes(signature));
      assert.ok(!JSON.stringify(task).includes(signature));
      assert.ok(!tx.stack.logs.join('\n').includes(signature), 'nor in the gateway logs');
    } finally {
      elsewhere.close();
    }

    // Plain http to a non-loopback Mandate is refused before anything is sent.
    const insecure = await rejection(
      delegate(options({ resource: PROCUREMENT_AUD }, { mandate: 'http://mandate.example:8080' })),
      'accepted plain http',
    );
    assert.ok(insecure instanceof MandateAgentError);
    assert.equal(insecure.code, 'ERR_MANDATE_INSECURE_URL');
  });
});
