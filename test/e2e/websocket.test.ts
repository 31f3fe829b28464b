import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { WebSocket } from 'ws';
import { websocketHandshake as handshake, type Stack, startStack } from './harness.ts';

const EVENTS = '/procurement/contracts/12345/events';

/**
 * Opens a WebSocket through the gateway with the `ws` client (a browser-style client cannot send an
 * Authorization header). Resolves once the tunnel is open, with the gateway's 101.
 */
async function openTunnel(
  stack: Stack,
  path: string,
  headers: Record<string, string>,
): Promise<{ ws: WebSocket; upgrade: IncomingMessage; messages: AsyncIterator<Record<string, unknown>> }> {
  const ws = new WebSocket(`${stack.url.replace(/^http/, 'ws')}${path}`, { headers, perMessageDeflate: false });
  const queue: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data) => {
    queue.push(JSON.parse(String(data)) as Record<string, unknown>);
    wake?.();
  });
  // 'upgrade' and 'open' fire in the same tick: listen for both before awaiting either.
  let upgrade: IncomingMessage | undefined;
  ws.once('upgrade', (response) => {
    upgrade = response;
  });
  await once(ws, 'open');
  const messages: AsyncIterator<Record<string, unknown>> = {
    async next() {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      return { value: queue.shift()!, done: false };
    },
  };
  return { ws, upgrade: upgrade!, messages };
}

/** Bytes of one WebSocket frame carrying `payload` bytes (RFC 6455 §5.2); client frames are masked. */
const frameBytes = (payload: number, masked: boolean) =>
  2 + (payload >= 65_536 ? 8 : payload >= 126 ? 2 : 0) + (masked ? 4 : 0) + payload;

/** Status line, headers and JSON body of a raw HTTP/1.1 response. */
function parseResponse(raw: string): {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: a problem+json or backend JSON body, asserted field by field
  body: Record<string, any>;
} {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(raw.slice(end + 4)) };
}

describe('WebSocket tunnelling: authorized once like any request, then frames both ways', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      editConfig(config) {
        // A backend whose credential is not Authorization, without identity headers: the agent's own
        // Authorization and X-Mandate-* would reach it if the tunnel copied the agent's headers.
        const crm = config.backends.find((b: { name: string }) => b.name === 'crm');
        crm.identity_headers = false;
        config.routes.push({
          backend: 'crm',
          method: 'GET',
          path: '/crm/regions/{region}/customers/{customer_id}/events',
          action: 'crm.customer.read',
          resource: { type: 'customer', id: '{customer_id}' },
          upstream_path: '/regions/{region}/customers/{customer_id}/events',
          params: { region: '^[a-z]{2,8}$' },
          policy: 'crm',
          websocket: true,
        });
      },
    });
  });
  after(() => stack.stop());

  const eventsFor = async (correlationId: string) =>
    (await stack.auditRows()).filter((r) => r.correlation_id === correlationId);

  test('an allowed upgrade tunnels messages both ways; the backend sees its own credential, never the agent token', async () => {
    const token = await stack.alice();
    const before = stack.procurement.received.length;
    const { ws, upgrade, messages } = await openTunnel(stack, EVENTS, {
      authorization: `Bearer ${token}`,
      'x-mandate-user': 'mallory',
      'x-forwarded-for': '10.6.6.6',
    });
    assert.equal(upgrade.statusCode, 101);
    const correlationId = String(upgrade.headers['x-mandate-correlation-id']);
    assert.match(correlationId, /^[0-9a-f]{32}$/);

    // Backend → agent: the contract on connect.
    const snapshot = (await messages.next()).value;
    assert.equal(snapshot.type, 'snapshot');
    assert.equal((snapshot.contract as { id: string }).id, '12345');
    // Agent → backend → agent.
    const ping = JSON.stringify({ type: 'ping', id: 7 });
    ws.send(ping);
    const pong = (await messages.next()).value;
    assert.deepEqual(pong, { type: 'pong', id: 7 });
    ws.close();
    await once(ws, 'close');

    const received = stack.procurement.received.slice(before);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.url, '/contracts/12345/events');
    const h = received[0]!.headers;
    assert.equal(h.authorization, `Bearer ${stack.secrets.procurement}`);
    assert.ok(!JSON.stringify(h).includes(token), 'the agent token never reaches the backend');
    assert.equal(h['x-mandate-user'], 'alice');
    assert.equal(h['x-mandate-action'], 'procurement.contract.watch');
    assert.equal(h['x-mandate-correlation-id'], correlationId);
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h.upgrade, 'websocket');
    assert.equal(h['sec-websocket-version'], '13');
    assert.match(String(h.traceparent), new RegExp(`^00-${correlationId}-[0-9a-f]{16}-0[01]$`));

    const events = await eventsFor(correlationId);
    assert.deepEqual(
      events.map((e) => [e.kind, e.decision, e.status, e.reason]),
      [
        ['decision', 'allow', null, null],
        ['outcome', 'allow', 101, null],
      ],
    );
    const [decision, outcome] = events as [Record<string, unknown>, Record<string, unknown>];
    assert.equal(decision.action, 'procurement.contract.watch');
    assert.equal(decision.resource_id, '12345');
    assert.equal(decision.path, EVENTS);
    assert.equal(decision.credential, 'procurement-service-account');
    // Frame bytes each way: the agent's masked ping and empty close; the backend's two messages and close.
    const sent = JSON.stringify(snapshot);
    assert.equal(outcome.bytes_in, frameBytes(Buffer.byteLength(ping), true) + frameBytes(0, true));
    assert.equal(
      outcome.bytes_out,
      frameBytes(Buffer.byteLength(sent), false) +
        frameBytes(Buffer.byteLength(JSON.stringify(pong)), false) +
        frameBytes(0, false),
    );
  });

  test('a backend event reaches the agent as it happens (server push through the tunnel)', async () => {
    const token = await stack.alice();
    const { ws, messages } = await openTunnel(stack, EVENTS, { authorization: `Bearer ${token}` });
    assert.equal((await messages.next()).value.type, 'snapshot');
    const cancelled = await fetch(`${stack.url}/procurement/contracts/12345/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(cancelled.status, 200);
    const event = (await messages.next()).value;
    assert.equal(event.type, 'status_changed');
    assert.equal((event.contract as { status: string }).status, 'cancelled');
    ws.close();
    await once(ws, 'close');
  });

  test('a backend with another credential header gets it, and neither the agent token nor its identity headers', async () => {
    const token = await stack.bob();
    const before = stack.crm.received.length;
    const raw = await stack.rawRequest(
      handshake('/crm/regions/emea/customers/9821/events', [
        `Authorization: Bearer ${token}`,
        'X-Mandate-User: mallory',
        'Forwarded: for=10.6.6.6',
      ]),
    );
    // The demo CRM has no WebSocket endpoint: its plain 404 is relayed, and audited as the outcome.
    const response = parseResponse(raw);
    assert.equal(response.status, 404);
    assert.equal(response.body.error, 'not_found');
    const received = stack.crm.received.slice(before);
    assert.equal(received.length, 1);
    const h = received[0]!.headers;
    assert.equal(h['x-api-key'], stack.secrets.crm);
    assert.equal(h.authorization, undefined);
    assert.equal(h['x-mandate-user'], undefined);
    assert.equal(h.forwarded, undefined);
    assert.ok(!JSON.stringify(h).includes(token));
    const correlationId = response.headers['x-mandate-correlation-id']!;
    assert.deepEqual(
      (await eventsFor(correlationId)).map((e) => [e.kind, e.status]),
      [
        ['decision', null],
        ['outcome', 404],
      ],
    );
  });

  /** A raw handshake the gateway must refuse: the answer, and proof that the backend saw nothing. */
  const refused = async (path: string, lines: string[]) => {
    const before = stack.procurement.received.length;
    const raw = await stack.rawRequest(handshake(path, lines));
    assert.equal(stack.procurement.received.length, before, 'the backend never sees a refused upgrade');
    const response = parseResponse(raw);
    assert.equal(response.headers['content-type'], 'application/problem+json');
    assert.equal(response.headers.connection, 'close');
    assert.equal(response.headers['x-mandate-correlation-id'], response.body.correlation_id);
    const events = await eventsFor(response.body.correlation_id);
    assert.equal(events.length, 1, 'one audit event per refusal');
    return { ...response, event: events[0]! };
  };

  test('no token → 401 on the upgrade, audited, the backend never sees it', async () => {
    const { status, headers, body, event } = await refused(EVENTS, []);
    assert.equal(status, 401);
    assert.equal(body.code, 'MANDATE_AUTHN_CREDENTIAL_MISSING');
    assert.equal(
      headers['www-authenticate'],
      'Bearer realm="mandate"',
      'RFC 6750 §3.1: no error code without a credential',
    );
    assert.deepEqual(
      [event.kind, event.decision, event.status, event.reason, event.method, event.path],
      ['denial', 'deny', 401, 'authn.credential_missing', 'GET', EVENTS],
    );
  });

  test('policy deny → 403 with the policy reasons, audited', async () => {
    const token = await stack.alice({ scope: 'procurement:write' });
    const { status, body, event } = await refused(EVENTS, [`Authorization: Bearer ${token}`]);
    assert.equal(status, 403);
    assert.equal(body.code, 'MANDATE_AUTHZ_DENIED');
    assert.deepEqual(body.reasons, ['scope.missing:procurement:read']);
    assert.equal(event.reason, 'authz.denied');
    assert.equal(event.action, 'procurement.contract.watch');
    assert.deepEqual(JSON.parse(String(event.policy_reasons)), ['scope.missing:procurement:read']);
  });

  test('a route that did not opt in refuses upgrades before policy (403 MANDATE_UPGRADE_NOT_ALLOWED)', async () => {
    const token = await stack.alice();
    const { status, body, event } = await refused('/procurement/contracts/12345', [`Authorization: Bearer ${token}`]);
    assert.equal(status, 403);
    assert.equal(body.code, 'MANDATE_UPGRADE_NOT_ALLOWED');
    assert.equal(event.reason, 'resolve.upgrade_not_allowed');
    assert.equal(event.user, 'alice');
    assert.equal(event.policy_revision, null, 'the policy was never asked');
  });

  test('h2c and every other upgrade protocol → 400 MANDATE_UPGRADE_UNSUPPORTED, before the token is looked at', async () => {
    const token = await stack.alice();
    for (const protocol of ['h2c', 'websocket, h2c', 'TLS/1.2']) {
      const before = stack.procurement.received.length;
      const raw = await stack.rawRequest(
        [
          `GET ${EVENTS} HTTP/1.1`,
          'Host: gateway.test',
          'Connection: Upgrade, HTTP2-Settings',
          `Upgrade: ${protocol}`,
          'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
          `Authorization: Bearer ${token}`,
          '',
          '',
        ].join('\r\n'),
      );
      assert.equal(stack.procurement.received.length, before, protocol);
      const { status, body } = parseResponse(raw);
      assert.equal(status, 400, protocol);
      assert.equal(body.code, 'MANDATE_UPGRADE_UNSUPPORTED');
      const events = await eventsFor(body.correlation_id);
      assert.deepEqual(
        events.map((e) => [e.kind, e.reason, e.user]),
        [['denial', 'request.upgrade_unsupported', null]],
      );
    }
  });

  test('Upgrade in an HTTP/1.0 request is ignored (RFC 9110 §7.8): an ordinary request, without Upgrade', async () => {
    const token = await stack.alice();
    const before = stack.procurement.received.length;
    const raw = await stack.rawRequest(handshake(EVENTS, [`Authorization: Bearer ${token}`], '1.0'));
    // The demo backend's plain-HTTP answer on its WebSocket path.
    assert.equal(parseResponse(raw).status, 426);
    const received = stack.procurement.received.slice(before);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.headers.upgrade, undefined);
    assert.equal(received[0]!.headers['sec-websocket-key'], undefined);
  });

  test('audit store unavailable → 503 on the upgrade, nothing forwarded', async () => {
    const token = await stack.alice();
    const lock = new Database(stack.auditDb);
    lock.exec('BEGIN EXCLUSIVE');
    try {
      const before = stack.procurement.received.length;
      const { status, body } = parseResponse(
        await stack.rawRequest(handshake(EVENTS, [`Authorization: Bearer ${token}`])),
      );
      assert.equal(status, 503);
      assert.equal(body.code, 'MANDATE_AUDIT_UNAVAILABLE');
      assert.equal(stack.procurement.received.length, before);
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
  });

  test('backend down → 502 MANDATE_UPSTREAM_UNREACHABLE on the upgrade, decision and outcome audited', async () => {
    await stack.procurement.close();
    const { status, headers, body } = parseResponse(
      await stack.rawRequest(handshake(EVENTS, [`Authorization: Bearer ${await stack.alice()}`])),
    );
    assert.equal(status, 502);
    assert.equal(body.code, 'MANDATE_UPSTREAM_UNREACHABLE');
    assert.equal(headers['x-mandate-correlation-id'], body.correlation_id);
    assert.deepEqual(
      (await eventsFor(body.correlation_id)).map((e) => [e.kind, e.status, e.reason]),
      [
        ['decision', null, null],
        ['outcome', 502, 'forward.upstream_unreachable'],
      ],
    );
  });
});

describe('a tunnel lives no longer than its token, nor than the gateway', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      editConfig(config) {
        // No leeway, so the test waits for exp itself rather than exp + 30 s.
        config.gateway.tokens.clock_skew_seconds = 0;
      },
    });
  });
  after(() => stack.stop());

  test('the tunnel is closed when the token expires, and the outcome says why', async () => {
    const token = await stack.alice({ ttlSeconds: 2 });
    const { ws, upgrade } = await openTunnel(stack, EVENTS, { authorization: `Bearer ${token}` });
    const opened = Date.now();
    const [code] = (await once(ws, 'close')) as [number];
    assert.equal(code, 1006, 'closed under the agent, without a close frame');
    assert.ok(Date.now() - opened < 4000);
    const correlationId = String(upgrade.headers['x-mandate-correlation-id']);
    const outcome = (await stack.auditRows()).find((r) => r.correlation_id === correlationId && r.kind === 'outcome')!;
    assert.equal(outcome.status, 101);
    assert.equal(outcome.reason, 'authn.token_expired');
  });

  test('shutdown closes open tunnels and records their outcome before the audit log closes', async () => {
    const { ws, upgrade } = await openTunnel(stack, EVENTS, { authorization: `Bearer ${await stack.alice()}` });
    const closed = once(ws, 'close');
    await stack.stop();
    await closed;
    assert.equal(stack.gateway.exitCode, 0);
    const correlationId = String(upgrade.headers['x-mandate-correlation-id']);
    const events = (await stack.auditRows()).filter((r) => r.correlation_id === correlationId);
    assert.deepEqual(
      events.map((e) => [e.kind, e.status]),
      [
        ['decision', null],
        ['outcome', 101],
      ],
    );
  });
});
