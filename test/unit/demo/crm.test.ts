import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startCrm } from '../../../gateway/demo/crm.ts';
import type { DemoBackend } from '../../../gateway/demo/server.ts';

const KEY = 'crm-test-key';
const auth = { 'x-api-key': KEY };

/** The parsed JSON body of a response (tests trust the shape they assert on). */
const json = async <T = Record<string, unknown>>(res: Response | Promise<Response>): Promise<T> =>
  (await (await res).json()) as T;
const GRETA = { id: '9821', region: 'emea', name: 'Greta Lindqvist', email: 'greta.lindqvist@example.com' };

describe('demo CRM backend', () => {
  let backend: DemoBackend;
  const call = (method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}) =>
    fetch(`${backend.url}${path}`, { method, headers: init.headers ?? auth, body: init.body ?? null });

  before(async () => {
    backend = await startCrm({ port: 0, apiKey: KEY });
  });
  after(() => backend.close());

  describe('refuses every endpoint without its own API key, but records the attempt', () => {
    const credentials: [string, Record<string, string>][] = [
      ['no key', {}],
      ['wrong key', { 'x-api-key': 'nope' }],
      ['key with a suffix', { 'x-api-key': `${KEY}x` }],
      ['key as a bearer token', { authorization: `Bearer ${KEY}` }],
    ];
    for (const [method, path] of [
      ['GET', '/regions/emea/customers/9821'],
      ['PATCH', '/regions/emea/customers/9821'],
      ['GET', '/__demo/received'],
    ] as const) {
      for (const [name, headers] of credentials) {
        it(`${method} ${path}, ${name} → 401`, async () => {
          const before = backend.received.length;
          const body = method === 'PATCH' ? '{"name":"Mallory"}' : undefined;
          const res = await call(method, path, body === undefined ? { headers } : { headers, body });
          assert.equal(res.status, 401);
          assert.equal(res.headers.get('www-authenticate'), null);
          assert.equal((await json(res)).error, 'unauthorized');
          assert.equal(backend.received.length, before + (path.startsWith('/__demo/') ? 0 : 1));
          if (body !== undefined) assert.equal(backend.received.at(-1)?.bodyBytes, body.length);
        });
      }
    }
    it('changed nothing while refusing', async () => {
      assert.deepEqual(await json(call('GET', '/regions/emea/customers/9821')), GRETA);
    });
  });

  it('reads a customer in its region only', async () => {
    const res = await call('GET', '/regions/emea/customers/9821');
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), GRETA);
    assert.equal((await json(call('GET', '/regions/amer/customers/9822'))).name, 'Dan Okafor');
    assert.equal((await call('GET', '/regions/amer/customers/9821')).status, 404);
    assert.equal((await call('GET', '/regions/emea/customers/1')).status, 404);
  });

  it('merges name and email from a PATCH', async () => {
    const res = await call('PATCH', '/regions/amer/customers/9822', {
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'dan@okafor.example' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { id: '9822', region: 'amer', name: 'Dan Okafor', email: 'dan@okafor.example' });
    assert.equal((await json(call('GET', '/regions/amer/customers/9822'))).email, 'dan@okafor.example');
  });

  const badBodies: [string, string][] = [
    ['invalid JSON', '{"name":'],
    ['empty body', ''],
    ['not an object', '["name"]'],
    ['a field that is not editable', '{"region":"amer"}'],
    ['the prototype key', '{"__proto__":{"x":1}}'],
    ['a non-string value', '{"name":42}'],
    ['an empty name', '{"name":""}'],
  ];
  for (const [name, body] of badBodies) {
    it(`PATCH with ${name} → 400, nothing changed`, async () => {
      const res = await call('PATCH', '/regions/emea/customers/9821', { body });
      assert.equal(res.status, 400);
      assert.equal((await json(res)).error, 'bad_request');
      assert.deepEqual(await json(call('GET', '/regions/emea/customers/9821')), GRETA);
    });
  }

  it('PATCH of an unknown customer → 404', async () => {
    assert.equal((await call('PATCH', '/regions/emea/customers/9822', { body: '{"name":"x"}' })).status, 404);
  });

  it('405 with Allow for other methods', async () => {
    const res = await call('DELETE', '/regions/emea/customers/9821');
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, PATCH');
  });

  it('records identity headers and bodies; exposes the log on /__demo/received', async () => {
    const body = '{"name":"Greta L."}';
    await call('PATCH', '/regions/emea/customers/9821', {
      headers: { ...auth, 'x-mandate-user': 'alice@example.com', 'x-mandate-correlation-id': 'c-1' },
      body,
    });
    const last = backend.received.at(-1);
    assert.equal(last?.method, 'PATCH');
    assert.equal(last?.url, '/regions/emea/customers/9821');
    assert.equal(last?.headers['x-mandate-user'], 'alice@example.com');
    assert.equal(last?.headers['x-mandate-correlation-id'], 'c-1');
    assert.equal(last?.headers['x-api-key'], KEY);
    assert.equal(last?.bodyBytes, body.length);
    assert.equal(last?.bodySha256, createHash('sha256').update(body).digest('hex'));
    const log = await json<unknown[]>(call('GET', '/__demo/received'));
    assert.deepEqual(log, JSON.parse(JSON.stringify(backend.received)));
  });
});
