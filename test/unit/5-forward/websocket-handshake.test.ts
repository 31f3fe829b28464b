import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MandateError } from '../../../gateway/errors.ts';
import { assertWebSocketHandshake } from '../../../gateway/pipeline/5-forward/websocket-handshake.ts';

const code = (run: () => void): string | undefined => {
  try {
    run();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof MandateError);
    return e.code;
  }
};

describe('assertWebSocketHandshake: only GET with Upgrade: websocket is tunnelled', () => {
  it('accepts a WebSocket handshake, whatever the case of the token', () => {
    for (const upgrade of ['websocket', 'WebSocket', ' websocket ']) {
      assert.equal(
        code(() => assertWebSocketHandshake({ method: 'GET', headers: { upgrade } })),
        undefined,
        upgrade,
      );
    }
  });

  it('refuses h2c, other protocols and protocol lists (RFC 9113 §3.1: h2c smuggling)', () => {
    for (const upgrade of ['h2c', 'websocket, h2c', 'h2c, websocket', 'TLS/1.2', 'websocket/13', '']) {
      assert.equal(
        code(() => assertWebSocketHandshake({ method: 'GET', headers: { upgrade } })),
        'MANDATE_UPGRADE_UNSUPPORTED',
        upgrade,
      );
    }
    assert.equal(
      code(() => assertWebSocketHandshake({ method: 'GET', headers: {} })),
      'MANDATE_UPGRADE_UNSUPPORTED',
    );
  });

  it('refuses a WebSocket upgrade on any method but GET (RFC 6455 §4.1)', () => {
    for (const method of ['POST', 'PUT', 'get', 'CONNECT']) {
      assert.equal(
        code(() => assertWebSocketHandshake({ method, headers: { upgrade: 'websocket' } })),
        'MANDATE_UPGRADE_UNSUPPORTED',
        method,
      );
    }
  });
});
