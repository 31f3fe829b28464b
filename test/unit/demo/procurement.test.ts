import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { MAX_DOCUMENT_BYTES } from '../../../gateway/demo/documents.ts';
import { startProcurement } from '../../../gateway/demo/procurement.ts';
import type { DemoBackend } from '../../../gateway/demo/server.ts';

const TOKEN = 'procurement-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

/** The parsed JSON body of a response (tests trust the shape they assert on). */
const json = async <T = Record<string, unknown>>(res: Response | Promise<Response>): Promise<T> =>
  (await (await res).json()) as T;
const MB = 1024 * 1024;

/** Byte i of every generated document is i % 251, computed here independently of the server. */
function expectedDocument(bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) buffer[i] = i % 251;
  return buffer;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('demo procurement backend', () => {
  let backend: DemoBackend;
  const call = (
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: RequestInit['body'] } = {},
  ) =>
    fetch(`${backend.url}${path}`, { method, headers: init.headers ?? auth, body: init.body ?? null, duplex: 'half' });

  before(async () => {
    backend = await startProcurement({ port: 0, serviceToken: TOKEN });
  });
  after(() => backend.close());

  describe('refuses every endpoint without its own service token, but records the attempt', () => {
    const endpoints: [string, string][] = [
      ['GET', '/contracts'],
      ['GET', '/contracts/12345'],
      ['POST', '/contracts/12345/cancel'],
      ['POST', '/contracts/12345/pause'],
      ['POST', '/documents'],
      ['GET', '/documents/10'],
      ['GET', '/__demo/received'],
      ['GET', '/no-such-path'],
    ];
    const credentials: [string, Record<string, string>][] = [
      ['no credential', {}],
      ['wrong token', { authorization: 'Bearer nope' }],
      ['token without scheme', { authorization: TOKEN }],
      ['token in another header', { 'x-api-key': TOKEN }],
      ['delegation-looking token', { authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig' }],
    ];
    for (const [method, path] of endpoints) {
      for (const [name, headers] of credentials) {
        it(`${method} ${path}, ${name} → 401`, async () => {
          const before = backend.received.length;
          const res = await call(method, path, { headers });
          assert.equal(res.status, 401);
          assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="procurement"');
          assert.equal((await json(res)).error, 'unauthorized');
          const recorded = path.startsWith('/__demo/') ? 0 : 1;
          assert.equal(backend.received.length, before + recorded);
        });
      }
    }
    it('still counts and hashes the body of a refused request', async () => {
      const body = Buffer.from('{"reason":"x"}');
      const res = await call('POST', '/contracts/12345/cancel', { headers: {}, body });
      assert.equal(res.status, 401);
      const last = backend.received.at(-1);
      assert.equal(last?.bodyBytes, body.length);
      assert.equal(last?.bodySha256, sha256(body));
      assert.equal((await json(call('GET', '/contracts/12345'))).status, 'active', 'nothing changed');
    });
  });

  it('lists contracts, optionally by vendor', async () => {
    const all = await json<{ contracts: { id: string }[] }>(call('GET', '/contracts'));
    assert.deepEqual(
      all.contracts.map((c) => c.id),
      ['12345', '12346', '12347'],
    );
    const x = await json<{ contracts: { id: string }[] }>(call('GET', '/contracts?vendor=X'));
    assert.deepEqual(
      x.contracts.map((c) => c.id),
      ['12345', '12346'],
    );
    assert.deepEqual((await json(call('GET', '/contracts?vendor=Z'))).contracts, []);
  });

  it('reads one contract, 404 for an unknown one', async () => {
    const res = await call('GET', '/contracts/12345');
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {
      id: '12345',
      vendor: 'X',
      title: 'Contractor agreement — Acme Staffing',
      status: 'active',
    });
    assert.equal((await call('GET', '/contracts/99999')).status, 404);
  });

  it('pauses and cancels; a cancelled contract cannot change again', async () => {
    const paused = await call('POST', '/contracts/12346/pause');
    assert.equal(paused.status, 200);
    assert.equal((await json(paused)).status, 'paused');
    const cancelled = await call('POST', '/contracts/12346/cancel');
    assert.equal(cancelled.status, 200);
    assert.deepEqual(await json(cancelled), {
      id: '12346',
      vendor: 'X',
      title: 'Office supplies',
      status: 'cancelled',
    });
    assert.equal((await call('POST', '/contracts/12346/cancel')).status, 409);
    assert.equal((await call('POST', '/contracts/12346/pause')).status, 409);
    assert.equal((await call('POST', '/contracts/99999/cancel')).status, 404);
    assert.equal((await json(call('GET', '/contracts/12346'))).status, 'cancelled');
  });

  it('answers 405 with Allow for a known path and the wrong method, 404 for unknown paths', async () => {
    const res = await call('DELETE', '/contracts/12345');
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
    assert.equal((await call('GET', '/contracts/12345/archive')).status, 404);
    assert.equal((await call('GET', '/documents/abc')).status, 404);
  });

  it('streams an upload of a few MB and reports its size and SHA-256', async () => {
    const document = expectedDocument(3 * MB + 17);
    async function* chunks() {
      for (let at = 0; at < document.length; at += 64 * 1024) yield document.subarray(at, at + 64 * 1024);
    }
    const res = await call('POST', '/documents', {
      headers: { ...auth, 'content-type': 'application/pdf' },
      body: chunks(),
    });
    assert.equal(res.status, 201);
    assert.deepEqual(await json(res), { bytes: document.length, sha256: sha256(document) });
    const last = backend.received.at(-1);
    assert.equal(last?.bodyBytes, document.length);
    assert.equal(last?.bodySha256, sha256(document));
    assert.equal(last?.headers['content-type'], 'application/pdf');
  });

  it('streams a download of n deterministic bytes with content-length', async () => {
    const bytes = 5 * MB + 123;
    const res = await call('GET', `/documents/${bytes}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(bytes));
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of res.body ?? []) {
      received += chunk.length;
      hash.update(chunk);
    }
    assert.equal(received, bytes);
    assert.equal(hash.digest('hex'), sha256(expectedDocument(bytes)));
  });

  it('downloads empty documents and refuses ones over the limit', async () => {
    const empty = await call('GET', '/documents/0');
    assert.equal(empty.status, 200);
    assert.equal((await empty.arrayBuffer()).byteLength, 0);
    assert.equal((await call('GET', `/documents/${MAX_DOCUMENT_BYTES + 1}`)).status, 400);
  });

  it('records method, raw target, every header and the body; exposes the log on /__demo/received', async () => {
    const body = Buffer.from('{"note":"x"}');
    await call('POST', '/contracts/12347/pause?dry_run=1', {
      headers: { ...auth, 'x-mandate-user': 'alice@example.com', 'x-mandate-agent': 'procurement-bot' },
      body,
    });
    const last = backend.received.at(-1);
    assert.equal(last?.method, 'POST');
    assert.equal(last?.url, '/contracts/12347/pause?dry_run=1');
    assert.equal(last?.headers['x-mandate-user'], 'alice@example.com');
    assert.equal(last?.headers['x-mandate-agent'], 'procurement-bot');
    assert.equal(last?.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(last?.bodyBytes, body.length);
    assert.equal(last?.bodySha256, sha256(body));
    assert.ok(!Number.isNaN(Date.parse(last?.at ?? '')));

    const count = backend.received.length;
    const res = await call('GET', '/__demo/received');
    assert.equal(res.status, 200);
    const log = await json<unknown[]>(res);
    assert.equal(backend.received.length, count, 'inspection requests are not recorded');
    assert.deepEqual(log, JSON.parse(JSON.stringify(backend.received)));
  });

  it('keeps only the last 1000 requests', async () => {
    for (let i = 0; i < 1005; i++) await (await call('GET', `/contracts?n=${i}`)).arrayBuffer();
    assert.equal(backend.received.length, 1000);
    assert.equal(backend.received.at(-1)?.url, '/contracts?n=1004');
    assert.equal(backend.received[0]?.url, '/contracts?n=5');
  });

  describe('contract events over WebSocket', () => {
    const events = (id: string) => `${backend.url.replace(/^http/, 'ws')}/contracts/${id}/events`;
    /** Messages as they arrive, parsed. */
    const inbox = (ws: WebSocket) => {
      const queue: Record<string, unknown>[] = [];
      const waiting: ((m: Record<string, unknown>) => void)[] = [];
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as Record<string, unknown>;
        const wake = waiting.shift();
        if (wake) wake(message);
        else queue.push(message);
      });
      return () =>
        new Promise<Record<string, unknown>>((r) => (queue.length > 0 ? r(queue.shift()!) : waiting.push(r)));
    };

    it('refuses a handshake without its service token (401), and records it', async () => {
      const req = get(`${backend.url}/contracts/12345/events`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="procurement"');
      res.resume();
      const last = backend.received.at(-1);
      assert.equal(last?.url, '/contracts/12345/events');
      assert.equal(last?.headers.upgrade, 'websocket');
      assert.equal(last?.headers.authorization, undefined);
    });

    it('sends the contract, answers a ping, and pushes each status change', async () => {
      const ws = new WebSocket(events('12345'), { headers: auth });
      const next = inbox(ws);
      await once(ws, 'open');
      const snapshot = await next();
      assert.equal(snapshot.type, 'snapshot');
      assert.equal((snapshot.contract as { id: string }).id, '12345');
      ws.send(JSON.stringify({ type: 'ping', id: 'a' }));
      assert.deepEqual(await next(), { type: 'pong', id: 'a' });
      ws.send('not json');
      assert.equal((await next()).type, 'error');
      assert.equal((await call('POST', '/contracts/12345/pause')).status, 200);
      const changed = await next();
      assert.equal(changed.type, 'status_changed');
      assert.equal((changed.contract as { status: string }).status, 'paused');
      assert.equal(backend.received.at(-2)?.url, '/contracts/12345/events', 'the handshake was recorded');
      ws.close();
      await once(ws, 'close');
    });

    it('closes with 4404 for an unknown contract; a plain GET is told to upgrade (426)', async () => {
      const ws = new WebSocket(events('99999'), { headers: auth });
      const [code] = (await once(ws, 'close')) as [number];
      assert.equal(code, 4404);
      const plain = await call('GET', '/contracts/12345/events');
      assert.equal(plain.status, 426);
      assert.equal(plain.headers.get('upgrade'), 'websocket');
      await plain.arrayBuffer();
    });
  });
});
