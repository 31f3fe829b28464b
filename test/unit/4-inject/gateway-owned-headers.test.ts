import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MandateError } from '../../../gateway/errors.ts';
import {
  isGatewayOwnedHeader,
  isProtectedFromConnection,
} from '../../../gateway/pipeline/4-inject/gateway-owned-headers.ts';
import { buildUpstreamHeaders } from '../../../gateway/pipeline/4-inject/upstream-headers.ts';

const IDENTITY = [
  'authorization',
  'cookie',
  'host',
  'via',
  'traceparent',
  'tracestate',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-real-ip',
  'x-mandate-user',
  'x-mandate-anything',
];
const HOP_BY_HOP = ['connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization'];
const ORDINARY = ['x-request-id', 'accept', 'content-type', 'idempotency-key', 'x-mandate', 'x-forwarded'];

test('forward_headers may name neither an identity nor a hop-by-hop header, nor Transfer-Encoding', () => {
  for (const name of [...IDENTITY, ...HOP_BY_HOP, 'transfer-encoding']) assert.ok(isGatewayOwnedHeader(name), name);
  // Content-Length passes through already; naming it again is harmless.
  for (const name of [...ORDINARY, 'content-length']) assert.ok(!isGatewayOwnedHeader(name), name);
});

test('a Connection option may not name an identity or framing header; hop-by-hop ones are its purpose', () => {
  for (const name of [...IDENTITY, 'content-length', 'transfer-encoding'])
    assert.ok(isProtectedFromConnection(name), name);
  for (const name of [...HOP_BY_HOP, ...ORDINARY]) assert.ok(!isProtectedFromConnection(name), name);
});

test('upstream headers: Connection naming a protected header is refused; naming another drops it', () => {
  const build = (rawHeaders: string[]) =>
    buildUpstreamHeaders({
      rawHeaders,
      extraAllowed: ['x-request-id'],
      credential: { name: 'none', header: undefined, value: undefined },
      identity: undefined,
      traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01',
      peerAddress: undefined,
    });
  assert.throws(
    () => build(['Connection', 'keep-alive, X-Mandate-User', 'X-Request-Id', 'r1']),
    (e: unknown) => e instanceof MandateError && e.code === 'MANDATE_REQUEST_HEADER_SPOOFED',
  );
  const out = build(['Connection', 'keep-alive, X-Request-Id', 'X-Request-Id', 'r1', 'Accept', '*/*']);
  assert.equal(out['x-request-id'], undefined);
  assert.equal(out.accept, '*/*');
});
