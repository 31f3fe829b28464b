import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { readBoundedBody } from '../../gateway/read-bounded-body.ts';

class TooLarge extends Error {}
class Aborted extends Error {}

/** A real server that reads every body with a 16-byte bound and answers what became of it. */
describe('readBoundedBody', () => {
  const outcomes: Array<{ ok: true; body: string } | { ok: false; error: Error }> = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const aborted = req.headers['x-default-aborted'] === undefined ? () => new Aborted() : undefined;
    // As a caller that awaits something else first (authentication): the client may be gone by then.
    if (req.headers['x-read-late'] !== undefined) {
      for (let i = 0; i < 100 && !req.destroyed; i++) await new Promise((r) => setTimeout(r, 10));
    }
    try {
      const body = await readBoundedBody(req, { maxBytes: 16, tooLarge: () => new TooLarge(), aborted });
      outcomes.push({ ok: true, body: body.toString() });
      res.end(`read ${body.length}`);
    } catch (error) {
      outcomes.push({ ok: false, error: error as Error });
      if (res.destroyed) return;
      // As the gateway's refusals do: answer, and do not reuse the connection.
      res.writeHead(413, { connection: 'close' }).end('too large');
    }
  });
  let port: number;
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  /** Sends `chunks` (chunked unless a Content-Length is given) and returns the status and answer. */
  function send(chunks: string[], headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      for (const c of chunks) req.write(c);
      req.end();
    });
  }

  test('a body within the bound is returned whole, to the byte', async () => {
    const answer = await send(['0123456789', 'abcdef']);
    assert.deepEqual(answer, { status: 200, text: 'read 16' });
    assert.deepEqual(outcomes.at(-1), { ok: true, body: '0123456789abcdef' });
  });

  test('an announced Content-Length over the bound is refused, and the refusal reaches the client', async () => {
    const body = 'x'.repeat(64 * 1024);
    const answer = await send([body], { 'content-length': String(body.length) });
    assert.deepEqual(answer, { status: 413, text: 'too large' });
    assert.ok((outcomes.at(-1) as { error: Error }).error instanceof TooLarge);
  });

  test('a chunked body crossing the bound is refused, and the refusal reaches the client', async () => {
    const answer = await send(['0123456789', 'abcdefg', 'x'.repeat(256 * 1024)]);
    assert.deepEqual(answer, { status: 413, text: 'too large' });
    assert.ok((outcomes.at(-1) as { error: Error }).error instanceof TooLarge);
  });

  test("a body cut off by the client rejects with the caller's aborted error, or a plain Error by default", async () => {
    for (const [headers, expected] of [
      [{}, Aborted],
      [{ 'x-default-aborted': '1' }, Error],
    ] as const) {
      const before = outcomes.length;
      const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': '10', ...headers } });
      req.on('error', () => {});
      req.write('abc');
      await new Promise((r) => setTimeout(r, 50));
      req.destroy();
      for (let i = 0; i < 100 && outcomes.length === before; i++) await new Promise((r) => setTimeout(r, 10));
      const outcome = outcomes.at(-1) as { ok: boolean; error: Error };
      assert.equal(outcome.ok, false);
      assert.equal(outcome.error.constructor, expected);
    }
  });

  test('a body cut off before the reader started rejects too, rather than waiting forever', async () => {
    const before = outcomes.length;
    const req = request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      headers: { 'content-length': '10', 'x-read-late': '1' },
    });
    req.on('error', () => {});
    req.write('abc');
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    for (let i = 0; i < 200 && outcomes.length === before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(outcomes.length, before + 1, 'the read settled');
    const outcome = outcomes.at(-1) as { ok: boolean; error: Error };
    assert.equal(outcome.ok, false);
    assert.equal(outcome.error.constructor, Aborted);
  });
});
