import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { relayableResponseHeaders } from '../../../gateway/pipeline/5-forward/response-headers.ts';

const CORRELATION_ID = '0192f0c4a1b2c3d4e5f60718293a4b5c';

describe('relayableResponseHeaders', () => {
  it('keeps end-to-end fields, values as received, arrays included', () => {
    const out = relayableResponseHeaders(
      { 'content-type': 'application/json', 'content-length': '17', 'set-cookie': ['a=1', 'b=2'] },
      CORRELATION_ID,
    );
    assert.deepEqual(out, {
      'content-type': 'application/json',
      'content-length': '17',
      'set-cookie': ['a=1', 'b=2'],
      'x-mandate-correlation-id': CORRELATION_ID,
    });
  });

  it('drops hop-by-hop fields and every field the backend’s Connection names', () => {
    const out = relayableResponseHeaders(
      {
        connection: 'keep-alive, X-Backend-Hop , close',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        trailer: 'x-checksum',
        upgrade: 'h2c',
        'proxy-authenticate': 'Basic',
        'x-backend-hop': 'secret-route',
        etag: '"v1"',
      },
      CORRELATION_ID,
    );
    assert.deepEqual(out, { etag: '"v1"', 'x-mandate-correlation-id': CORRELATION_ID });
  });

  it('answers with the gateway’s correlation id, never one the backend sent', () => {
    const out = relayableResponseHeaders(
      { 'x-mandate-correlation-id': 'ffffffffffffffffffffffffffffffff', etag: '"v1"' },
      CORRELATION_ID,
    );
    assert.equal(out['x-mandate-correlation-id'], CORRELATION_ID);
  });

  it('skips fields without a value', () => {
    assert.deepEqual(relayableResponseHeaders({ etag: undefined }, CORRELATION_ID), {
      'x-mandate-correlation-id': CORRELATION_ID,
    });
  });
});
