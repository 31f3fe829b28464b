import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CRM_AUD, mandateCli, type Stack, startStack } from './harness.ts';

/** The demo story end to end: real gateway process, real backends, real key server, real SQLite. */
describe('pipeline: delegation token → action → policy → credential swap → forward → audit', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  const call = async (path: string, token: string, init: RequestInit = {}) => {
    const res = await fetch(`${stack.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
    });
    // biome-ignore lint/suspicious/noExplicitAny: a problem+json or backend JSON body, asserted field by field
    return { res, body: (await res.json()) as Record<string, any> };
  };
  const eventsFor = async (correlationId: string) =>
    (await stack.auditRows()).filter((r) => r.correlation_id === correlationId);

  test('alice cancels contract 12345: the backend sees its own credential and who asked, never the agent token', async () => {
    const token = await stack.alice();
    const before = stack.procurement.received.length;
    const { res, body } = await call('/procurement/contracts/12345/cancel', token, {
      method: 'POST',
      headers: {
        'x-mandate-user': 'mallory',
        'x-forwarded-for': '10.6.6.6',
        forwarded: 'for=10.6.6.6',
        'x-original-url': '/admin',
      },
    });
    assert.equal(res.status, 200);
    assert.equal(body.status, 'cancelled');
    const correlationId = res.headers.get('x-mandate-correlation-id')!;
    assert.match(correlationId, /^[0-9a-f]{32}$/);

    const received = stack.procurement.received.slice(before);
    assert.equal(received.length, 1);
    const h = received[0]!.headers;
    assert.equal(h.authorization, `Bearer ${stack.secrets.procurement}`);
    assert.ok(!JSON.stringify(h).includes(token), 'the agent token never reaches the backend');
    assert.equal(h['x-mandate-user'], 'alice');
    assert.equal(h['x-mandate-agent'], 'hr-agent');
    assert.equal(h['x-mandate-action'], 'procurement.contract.cancel');
    assert.equal(h['x-mandate-correlation-id'], correlationId);
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h.forwarded, undefined);
    assert.equal(h['x-original-url'], undefined);
    assert.match(String(h.traceparent), new RegExp(`^00-${correlationId}-[0-9a-f]{16}-0[01]$`));
    assert.equal(received[0]!.url, '/contracts/12345/cancel');

    const events = await eventsFor(correlationId);
    assert.deepEqual(
      events.map((e) => e.kind),
      ['decision', 'outcome'],
    );
    const [decision, outcome] = events as [Record<string, string>, Record<string, number>];
    assert.equal(decision.user, 'alice');
    assert.equal(decision.agent, 'hr-agent');
    assert.deepEqual(JSON.parse(String(decision.actor_chain)), [{ sub: 'hr-agent' }]);
    assert.equal(decision.action, 'procurement.contract.cancel');
    assert.equal(decision.resource_type, 'contract');
    assert.equal(decision.resource_id, '12345');
    assert.equal(decision.decision, 'allow');
    assert.equal(decision.txn, 'task-alice-1');
    assert.equal(decision.intent, 'cancel my contractor agreement with vendor X');
    assert.deepEqual(JSON.parse(String(decision.authorization_details)), [
      { type: 'procurement_contract', actions: ['cancel'], identifier: '12345' },
    ]);
    assert.equal(decision.credential, 'procurement-service-account');
    assert.match(String(decision.policy_revision), /^[0-9a-f]{64}$/);
    assert.match(String(decision.token_hash), /^[0-9a-f]{64}$/);
    assert.equal(outcome.status, 200);
    assert.ok(Number(outcome.bytes_out) > 0);
    const everything = JSON.stringify(await stack.auditRows());
    assert.ok(
      !everything.includes(token) && !everything.includes(stack.secrets.procurement),
      'no token or secret in audit',
    );
  });

  test('drift: cancelling 12346 when the intent named 12345 is denied with the reason, never forwarded', async () => {
    const before = stack.procurement.received.length;
    const { res, body } = await call('/procurement/contracts/12346/cancel', await stack.alice(), { method: 'POST' });
    assert.equal(res.status, 403);
    assert.equal(body.code, 'MANDATE_AUTHZ_DENIED');
    assert.ok(body.reasons.length > 0);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(stack.procurement.received.length, before);
    const events = await eventsFor(body.correlation_id);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.kind, 'denial');
    assert.equal(events[0]!.reason, 'authz.denied');
    assert.deepEqual(JSON.parse(String(events[0]!.policy_reasons)), body.reasons);
  });

  test('pausing instead of cancelling is denied', async () => {
    const { res, body } = await call('/procurement/contracts/12345/pause', await stack.alice(), { method: 'POST' });
    assert.equal(res.status, 403);
    assert.equal(body.code, 'MANDATE_AUTHZ_DENIED');
  });

  test('bob (support, emea) reads an emea customer but not an amer one', async () => {
    const ok = await call('/crm/regions/emea/customers/9821', await stack.bob());
    assert.equal(ok.res.status, 200);
    assert.equal(ok.body.id, '9821');
    assert.equal(stack.crm.received.at(-1)!.headers['x-api-key'], stack.secrets.crm);
    const denied = await call('/crm/regions/amer/customers/9822', await stack.bob());
    assert.equal(denied.res.status, 403);
    const update = await call('/crm/regions/emea/customers/9821', await stack.bob(), {
      method: 'PATCH',
      body: JSON.stringify({ name: 'x' }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(update.res.status, 403);
  });

  test('a token for another backend is refused before policy (audience)', async () => {
    const { res, body } = await call('/procurement/contracts/12345', await stack.alice({ audience: CRM_AUD }));
    assert.equal(res.status, 401);
    assert.equal(body.code, 'MANDATE_AUTHN_AUDIENCE_MISMATCH');
    assert.match(res.headers.get('www-authenticate')!, /error="invalid_token"/);
  });

  test('unknown route → 404, wrong method → 405 with Allow, each audited once', async () => {
    const token = await stack.alice();
    const missing = await call('/procurement/secrets', token);
    assert.equal(missing.res.status, 404);
    assert.equal(missing.body.code, 'MANDATE_ROUTE_NOT_FOUND');
    const wrong = await call('/procurement/contracts/12345', token, { method: 'DELETE' });
    assert.equal(wrong.res.status, 405);
    assert.equal(wrong.res.headers.get('allow'), 'GET');
    for (const c of [missing.body.correlation_id, wrong.body.correlation_id])
      assert.equal((await eventsFor(c)).length, 1);
  });

  test('a Connection header naming a gateway header is refused (fetch cannot send one: raw socket)', async () => {
    const before = stack.procurement.received.length;
    const response = await stack.rawRequest(
      `GET /procurement/contracts/12345 HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer ${await stack.alice()}\r\nConnection: close, x-mandate-user\r\n\r\n`,
    );
    assert.match(response, /^HTTP\/1\.1 400 /);
    assert.match(response, /MANDATE_REQUEST_HEADER_SPOOFED/);
    assert.equal(stack.procurement.received.length, before);
  });

  test('a valid traceparent is continued, an invalid one replaced', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const token = await stack.alice();
    const continued = await call('/procurement/contracts/12345', token, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    assert.equal(continued.res.headers.get('x-mandate-correlation-id'), traceId);
    const replaced = await call('/procurement/contracts/12345', token, {
      headers: { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` },
    });
    assert.notEqual(replaced.res.headers.get('x-mandate-correlation-id'), '0'.repeat(32));
  });

  test('every refusal is one event, every allowed call two, and the chain verifies', async () => {
    const rows = await stack.auditRows();
    const byCorrelation = Map.groupBy(rows, (r) => String(r.correlation_id));
    for (const [, events] of byCorrelation) {
      const kinds = events.map((e) => e.kind).join(',');
      assert.ok(kinds === 'decision,outcome' || kinds === 'denial' || kinds === 'error', kinds);
    }
    const verify = await mandateCli(['audit', 'verify', '--db', stack.auditDb]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
