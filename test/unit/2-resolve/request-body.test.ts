import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BodyAttributesConfig } from '../../../gateway/config/request-attributes-schema.ts';
import { MandateError } from '../../../gateway/errors.ts';
import { type RequestBody, readRequestBody } from '../../../gateway/pipeline/2-resolve/request-body.ts';

/**
 * readRequestBody on a real node:http server, fed by raw sockets (a client library would fix up
 * Content-Length and chunking): the bound, chunked bodies, an agent that hangs up mid-body, and the
 * body checks. Each request's result — the body read, or the MandateError code — is what is asserted.
 */

const SPEC: BodyAttributesConfig = { max_bytes: 64, fields: ['vendor', 'amount'] };

type Result = { body: RequestBody | undefined } | { code: string };

let server: Server;
let port: number;
const waiting: ((result: Result) => void)[] = [];

before(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const report = waiting.shift()!;
    readRequestBody(req, SPEC).then(
      (body) => {
        report({ body });
        res.end('read');
      },
      (e: unknown) => {
        report({ code: e instanceof MandateError ? e.code : String(e) });
        res.writeHead(e instanceof MandateError ? e.entry.status : 500, { connection: 'close' }).end();
      },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});
after(() => server.close());

/** Sends `head` (request line and headers, without the blank line) and then each of `parts`; resolves with what the reader made of it. */
async function send(head: string[], parts: (string | Buffer)[], options: { hangUp?: boolean } = {}): Promise<Result> {
  const result = new Promise<Result>((resolve) => waiting.push(resolve));
  const socket: Socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.resume();
  await once(socket, 'connect');
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  for (const part of parts) {
    // Separate writes, a moment apart: separate 'data' events on the server.
    socket.write(part);
    await new Promise((r) => setTimeout(r, 5));
  }
  if (options.hangUp) socket.destroy();
  const settled = await result;
  socket.destroy();
  return settled;
}

const JSON_HEAD = (length: number) => [
  'POST /purchase-orders HTTP/1.1',
  'Host: g',
  'Content-Type: application/json',
  `Content-Length: ${length}`,
];
const CHUNKED_HEAD = [
  'POST /purchase-orders HTTP/1.1',
  'Host: g',
  'Content-Type: application/json',
  'Transfer-Encoding: chunked',
];
const chunk = (data: string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;
const LAST_CHUNK = '0\r\n\r\n';

/** A JSON object of exactly `n` bytes. */
const objectOf = (n: number) => {
  const base = '{"vendor":"X","pad":""}';
  return `{"vendor":"X","pad":"${'a'.repeat(n - base.length)}"}`;
};

const bytesOf = (result: Result) => {
  assert.ok('body' in result, JSON.stringify(result));
  return result.body!.bytes.toString();
};

describe('readRequestBody: the bound', () => {
  it('reads a body of exactly max_bytes, byte for byte, and exposes the listed fields', async () => {
    const body = objectOf(64);
    const result = await send(JSON_HEAD(64), [body]);
    assert.equal(bytesOf(result), body);
    assert.ok('body' in result);
    assert.deepEqual(result.body!.fields, { vendor: 'X', amount: null });
  });

  it('refuses max_bytes + 1 on Content-Length, before a byte of the body arrives', async () => {
    // Nothing of the body is ever sent: the announced length alone decides.
    assert.deepEqual(await send(JSON_HEAD(65), []), { code: 'MANDATE_BODY_TOO_LARGE' });
  });

  it('refuses an empty body as not a JSON object', async () => {
    assert.deepEqual(await send(JSON_HEAD(0), []), { code: 'MANDATE_BODY_INVALID_JSON' });
  });
});

describe('readRequestBody: chunked bodies', () => {
  it('joins the chunks into exactly the bytes sent', async () => {
    const body = '{"vendor":"X","amount":4200}';
    const result = await send(CHUNKED_HEAD, [
      chunk(body.slice(0, 9)),
      chunk(body.slice(9, 20)),
      chunk(body.slice(20)),
      LAST_CHUNK,
    ]);
    assert.equal(bytesOf(result), body);
    assert.ok('body' in result);
    assert.deepEqual(result.body!.fields, { vendor: 'X', amount: 4200 });
  });

  it('accepts max_bytes over several chunks, refuses the chunk that crosses it', async () => {
    const body = objectOf(64);
    assert.equal(
      bytesOf(await send(CHUNKED_HEAD, [chunk(body.slice(0, 32)), chunk(body.slice(32)), LAST_CHUNK])),
      body,
    );
    const over = objectOf(65);
    // The last chunk is never sent: the reader refuses as soon as the bound is crossed.
    assert.deepEqual(await send(CHUNKED_HEAD, [chunk(over.slice(0, 32)), chunk(over.slice(32))]), {
      code: 'MANDATE_BODY_TOO_LARGE',
    });
  });
});

describe('readRequestBody: an agent that hangs up', () => {
  it('mid-body with Content-Length: MANDATE_CLIENT_ABORTED', async () => {
    const body = objectOf(40);
    assert.deepEqual(await send(JSON_HEAD(40), [body.slice(0, 20)], { hangUp: true }), {
      code: 'MANDATE_CLIENT_ABORTED',
    });
  });

  it('mid-body when chunked: MANDATE_CLIENT_ABORTED', async () => {
    assert.deepEqual(await send(CHUNKED_HEAD, [chunk('{"vendor":')], { hangUp: true }), {
      code: 'MANDATE_CLIENT_ABORTED',
    });
  });
});

describe('readRequestBody: what is read', () => {
  const one = (body: string, contentType = 'application/json') =>
    send(
      [
        'POST /purchase-orders HTTP/1.1',
        'Host: g',
        `Content-Type: ${contentType}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
      ],
      [body],
    );

  it('needs application/json (or +json), UTF-8', async () => {
    assert.ok('body' in (await one('{}', 'application/merge-patch+json; charset=UTF-8')));
    assert.deepEqual(await one('{}', 'text/plain'), { code: 'MANDATE_BODY_UNSUPPORTED_MEDIA_TYPE' });
    assert.deepEqual(await one('{}', 'application/json; charset=latin1'), {
      code: 'MANDATE_BODY_UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it('refuses a body that is not one JSON object, a member twice, an imprecise number in a field read', async () => {
    assert.deepEqual(await one('[1]'), { code: 'MANDATE_BODY_INVALID_JSON' });
    assert.deepEqual(await one('{"vendor":"X"'), { code: 'MANDATE_BODY_INVALID_JSON' });
    assert.deepEqual(await one('{"a":{"b":1,"b":2}}'), { code: 'MANDATE_BODY_DUPLICATE_KEY' });
    assert.deepEqual(await one('{"amount":5000.0000000000001}'), { code: 'MANDATE_BODY_NUMBER_IMPRECISE' });
    // The same number in a field the policy does not read is the backend's business.
    assert.ok('body' in (await one('{"note":5000.0000000000001}')));
  });

  it('reads nothing for a route without `body:`', async () => {
    const req = { headers: {} } as IncomingMessage;
    assert.equal(await readRequestBody(req, undefined), undefined);
  });
});
