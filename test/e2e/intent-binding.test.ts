import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Stack, startStack } from './harness.ts';

/**
 * The seed story of intent binding: alice asked her agent to "cancel contract 12345 with vendor X",
 * and allowed it to order from vendor X for at most 5000 EUR. Her token's authorization_details say
 * exactly that; Mandate compares them with every call (rego/lib/intent.rego) and refuses drift, naming
 * the dimension that did not match. Real gateway process, real demo backend, real SQLite audit.
 */
const SEED_INTENT = [
  { type: 'procurement_contract', actions: ['cancel'], identifier: '12345', vendor: 'X' },
  { type: 'purchase_order', actions: ['create'], vendor: 'X', max_amount: 5000, currency: 'EUR' },
];

describe('intent binding: the seed story', () => {
  let stack: Stack;
  let token: string;
  before(async () => {
    stack = await startStack();
    token = await stack.alice({
      authorizationDetails: SEED_INTENT,
      intent: 'Cancel contract 12345 with vendor X; order replacement supplies from X, up to 5000 EUR',
    });
  });
  after(() => stack.stop());

  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${stack.url}${path}`, {
      method: 'POST',
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
    });
    // biome-ignore lint/suspicious/noExplicitAny: a problem+json or backend JSON body, asserted field by field
    return { res, body: (await res.json()) as Record<string, any> };
  };
  const order = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    call('/procurement/purchase-orders', { body, headers });
  const eventsFor = async (correlationId: string) =>
    (await stack.auditRows()).filter((r) => r.correlation_id === correlationId);

  /** A refusal: status and code, the backend never reached, one audit event with the reason. */
  async function assertRefused(
    attempt: () => Promise<{ res: Response; body: Record<string, unknown> }>,
    expected: { status: number; code: string; reason: string; policyReasons?: string[] },
  ): Promise<void> {
    const before = stack.procurement.received.length;
    const { res, body } = await attempt();
    assert.equal(res.status, expected.status);
    assert.equal(body.code, expected.code);
    assert.deepEqual(body.reasons, expected.policyReasons);
    assert.equal(stack.procurement.received.length, before, 'the backend never saw the call');
    const events = await eventsFor(String(body.correlation_id));
    assert.equal(events.length, 1);
    const [event] = events as [Record<string, unknown>];
    assert.equal(event.kind, expected.status >= 500 ? 'error' : 'denial');
    assert.equal(event.reason, expected.reason);
    assert.equal(event.status, expected.status);
    assert.equal(event.user, 'alice');
    assert.deepEqual(JSON.parse(String(event.policy_reasons)), expected.policyReasons ?? []);
  }

  const denied = (...policyReasons: string[]) => ({
    status: 403,
    code: 'MANDATE_AUTHZ_DENIED',
    reason: 'authz.denied',
    policyReasons,
  });

  test('cancel 12345: the intent names it, so it is forwarded and audited as allowed', async () => {
    const before = stack.procurement.received.length;
    const { res, body } = await call('/procurement/contracts/12345/cancel');
    assert.equal(res.status, 200);
    assert.equal(body.status, 'cancelled');
    const received = stack.procurement.received.slice(before);
    assert.deepEqual(
      received.map((r) => `${r.method} ${r.url}`),
      ['POST /contracts/12345/cancel'],
    );
    const events = await eventsFor(res.headers.get('x-mandate-correlation-id')!);
    assert.deepEqual(
      events.map((e) => [e.kind, e.decision, e.action, e.resource_id]),
      [
        ['decision', 'allow', 'procurement.contract.cancel', '12345'],
        ['outcome', 'allow', 'procurement.contract.cancel', '12345'],
      ],
    );
    assert.deepEqual(JSON.parse(String(events[0]!.authorization_details)), SEED_INTENT);
  });

  test('cancel 12346 (the wrong row of the list): drift, refused naming the identifier', () =>
    assertRefused(() => call('/procurement/contracts/12346/cancel'), denied('intent.identifier_mismatch')));

  test('pause 12345 instead of cancelling it: refused naming the action', () =>
    assertRefused(() => call('/procurement/contracts/12345/pause'), denied('intent.action_not_authorized')));

  test('cancel every vendor-X contract: the intent is one contract, not the relationship', async () => {
    await assertRefused(() => call('/procurement/contracts/cancel?vendor=X'), denied('intent.identifier_mismatch'));
    const contracts = await fetch(`${stack.procurement.url}/contracts?vendor=X`, {
      headers: { authorization: `Bearer ${stack.secrets.procurement}` },
    });
    const { contracts: ofX } = (await contracts.json()) as { contracts: { id: string; status: string }[] };
    assert.equal(ofX.find((c) => c.id === '12346')?.status, 'active', 'the other vendor-X contract is untouched');
  });

  test('a query parameter the policy reads may appear only once', () =>
    assertRefused(() => call('/procurement/contracts/cancel?vendor=X&vendor=Y'), {
      status: 400,
      code: 'MANDATE_QUERY_PARAM_REPEATED',
      reason: 'attributes.query_param_repeated',
    }));

  test('a purchase order above the maximum amount: refused naming the amount', () =>
    assertRefused(() => order('{"vendor":"X","amount":5000.01,"currency":"EUR"}'), denied('intent.amount_exceeds')));

  test('a purchase order from another vendor, or in another currency: refused naming which', async () => {
    await assertRefused(() => order('{"vendor":"Y","amount":100,"currency":"EUR"}'), denied('intent.vendor_mismatch'));
    await assertRefused(
      () => order('{"vendor":"X","amount":100,"currency":"USD"}'),
      denied('intent.currency_mismatch'),
    );
    await assertRefused(() => order('{"amount":100,"currency":"EUR"}'), denied('intent.vendor_mismatch'));
  });

  test('a purchase order at the maximum: allowed, and the backend receives the very bytes judged', async () => {
    // Unusual spacing, key order and number spelling: re-serialising would change every one of them.
    const bytes = '{ "currency" : "EUR",\n  "amount": 5000.00, "vendor":"X", "note": "caf\\u00e9" }';
    const before = stack.procurement.received.length;
    const { res, body } = await order(bytes);
    assert.equal(res.status, 201);
    assert.deepEqual(body, { id: 'po-1', vendor: 'X', amount: 5000, currency: 'EUR' });
    const [received] = stack.procurement.received.slice(before);
    assert.equal(received?.url, '/purchase-orders');
    assert.equal(received?.bodySha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(received?.headers['content-length'], String(Buffer.byteLength(bytes)));
    const events = await eventsFor(res.headers.get('x-mandate-correlation-id')!);
    assert.deepEqual(
      events.map((e) => [e.kind, e.action, e.status]),
      [
        ['decision', 'procurement.purchase_order.create', null],
        ['outcome', 'procurement.purchase_order.create', 201],
      ],
    );
    assert.equal(events[1]!.bytes_in, Buffer.byteLength(bytes));
    // The audit trail names the body decided on, before forwarding, and the body sent.
    const sha = createHash('sha256').update(bytes).digest('hex');
    for (const e of events) assert.deepEqual(JSON.parse(String(e.detail)), { body_sha256: sha });
  });

  test('a chunked body is read whole, judged, and forwarded with its Content-Length', async () => {
    const json = '{"vendor":"X","amount":12.5,"currency":"EUR"}';
    const chunked = [json.slice(0, 10), json.slice(10)].map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('');
    const before = stack.procurement.received.length;
    const raw = await stack.rawRequest(
      [
        'POST /procurement/purchase-orders HTTP/1.1',
        'Host: gateway.test',
        `Authorization: Bearer ${token}`,
        'Content-Type: application/json; charset=utf-8',
        'Transfer-Encoding: chunked',
        'Connection: close',
        '',
        `${chunked}0\r\n\r\n`,
      ].join('\r\n'),
    );
    assert.match(raw, /^HTTP\/1\.1 201 /);
    const [received] = stack.procurement.received.slice(before);
    assert.equal(received?.bodySha256, createHash('sha256').update(json).digest('hex'));
    assert.equal(received?.headers['content-length'], String(json.length));
    assert.equal(received?.headers['transfer-encoding'], undefined);
  });

  test('over the bound announced by Content-Length: 413 before anything is read', async () => {
    const before = stack.procurement.received.length;
    // Only the head and a few bytes of a "20 000 byte" body: the refusal must not wait for the rest.
    const raw = await stack.rawRequest(
      [
        'POST /procurement/purchase-orders HTTP/1.1',
        'Host: gateway.test',
        `Authorization: Bearer ${token}`,
        'Content-Type: application/json',
        'Content-Length: 20000',
        '',
        '{"vendor":"X",',
      ].join('\r\n'),
    );
    assert.match(raw, /^HTTP\/1\.1 413 /);
    assert.match(raw, /\r\nconnection: close\r\n/i);
    assert.match(raw, /"code":"MANDATE_BODY_TOO_LARGE"/);
    assert.equal(stack.procurement.received.length, before);
    const correlationId = /x-mandate-correlation-id: ([0-9a-f]{32})/i.exec(raw)?.[1];
    const [event] = await eventsFor(correlationId!);
    assert.equal(event?.reason, 'attributes.body_too_large');
    assert.equal(event?.action, 'procurement.purchase_order.create');
  });

  test('over the bound while a chunked body arrives: 413', async () => {
    const padding = 'x'.repeat(17_000);
    const json = `{"vendor":"X","amount":1,"currency":"EUR","note":"${padding}"}`;
    await assertRefused(
      async () => {
        const raw = await stack.rawRequest(
          [
            'POST /procurement/purchase-orders HTTP/1.1',
            'Host: gateway.test',
            `Authorization: Bearer ${token}`,
            'Content-Type: application/json',
            'Transfer-Encoding: chunked',
            '',
            `${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`,
          ].join('\r\n'),
        );
        assert.match(raw, /^HTTP\/1\.1 413 /);
        const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
        return { res: new Response(null, { status: 413 }), body };
      },
      { status: 413, code: 'MANDATE_BODY_TOO_LARGE', reason: 'attributes.body_too_large' },
    );
  });

  test('not JSON, or not an object: 400', async () => {
    const invalid = { status: 400, code: 'MANDATE_BODY_INVALID_JSON', reason: 'attributes.body_invalid_json' };
    await assertRefused(() => order('{"vendor":"X",'), invalid);
    await assertRefused(() => order('[{"vendor":"X","amount":1,"currency":"EUR"}]'), invalid);
    await assertRefused(() => order(''), invalid);
  });

  test('a member name twice, at any depth: 400 (which one would the backend read?)', async () => {
    const duplicate = { status: 400, code: 'MANDATE_BODY_DUPLICATE_KEY', reason: 'attributes.body_duplicate_key' };
    await assertRefused(() => order('{"vendor":"X","amount":1,"currency":"EUR","vendor":"Y"}'), duplicate);
    await assertRefused(
      () => order('{"vendor":"X","amount":1,"currency":"EUR","lines":[{"sku":"a","\\u0073ku":"b"}]}'),
      duplicate,
    );
  });

  test('an amount a double cannot hold exactly: 400, never compared as a rounded number', () =>
    assertRefused(() => order('{"vendor":"X","amount":5000.0000000000001,"currency":"EUR"}'), {
      status: 400,
      code: 'MANDATE_BODY_NUMBER_IMPRECISE',
      reason: 'attributes.body_number_imprecise',
    }));

  test('a body that is not plain JSON (another media type, or compressed): 415', async () => {
    const unsupported = {
      status: 415,
      code: 'MANDATE_BODY_UNSUPPORTED_MEDIA_TYPE',
      reason: 'attributes.body_unsupported_media_type',
    };
    const json = '{"vendor":"X","amount":1,"currency":"EUR"}';
    await assertRefused(() => order(json, { 'content-type': 'text/plain' }), unsupported);
    await assertRefused(() => order(json, { 'content-type': 'application/json; charset=iso-8859-1' }), unsupported);
    await assertRefused(
      () => order(json, { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
      unsupported,
    );
  });

  test('without a valid token the body is never read: 401 first', async () => {
    const res = await fetch(`${stack.url}/procurement/purchase-orders`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x'.repeat(20_000),
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, 'MANDATE_AUTHN_CREDENTIAL_MISSING');
  });
});
