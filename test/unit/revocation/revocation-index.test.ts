import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MandateError } from '../../../gateway/errors.ts';
import { parseRevocationRequest, type Revocation } from '../../../gateway/revocation/revocation.ts';
import { RevocationIndex } from '../../../gateway/revocation/revocation-index.ts';
import { T, token } from './fixtures.ts';

const revoked = (target: Revocation['target'], value: string, revokedAtMs = T * 1000 + 500): Revocation => ({
  id: 1,
  target,
  value,
  reason: 'test',
  revokedAtMs,
  revokedBy: 'ops',
  expiresAtMs: null,
});

test('an empty index revokes nothing', () => {
  assert.equal(new RevocationIndex().isRevoked(token()), false);
});

test('jti and txn: every token carrying them, whenever it was issued', () => {
  const index = new RevocationIndex();
  index.add(revoked('jti', 'jti-1'));
  index.add(revoked('txn', 'task-9'));
  assert.equal(index.isRevoked(token()), true);
  assert.equal(index.isRevoked(token({ jti: 'jti-1', issuedAtSeconds: T + 3600 })), true);
  assert.equal(index.isRevoked(token({ jti: 'jti-2' })), false);
  assert.equal(index.isRevoked(token({ jti: 'jti-2', txn: 'task-9', issuedAtSeconds: T + 3600 })), true);
  assert.equal(index.isRevoked(token({ jti: 'jti-2', txn: null })), false);
});

test('user (sign-out): tokens issued at or before the revocation second, not later ones', () => {
  const index = new RevocationIndex();
  index.add(revoked('user', 'alice'));
  assert.equal(index.isRevoked(token({ issuedAtSeconds: T - 60 })), true);
  // Same second as the revocation: may have been issued just before it.
  assert.equal(index.isRevoked(token({ issuedAtSeconds: T })), true);
  assert.equal(index.isRevoked(token({ issuedAtSeconds: T + 1 })), false);
  assert.equal(index.isRevoked(token({ user: 'bob', issuedAtSeconds: T - 60 })), false);
  assert.equal(index.isRevoked(token({ user: null, issuedAtSeconds: T - 60 })), false);
});

test('a later revocation of the same user moves the cut-off forward; an earlier one never back', () => {
  const index = new RevocationIndex();
  index.add(revoked('user', 'alice', (T + 100) * 1000));
  index.add(revoked('user', 'alice', T * 1000));
  assert.equal(index.isRevoked(token({ issuedAtSeconds: T + 100 })), true);
  assert.equal(index.isRevoked(token({ issuedAtSeconds: T + 101 })), false);
});

test('agent: anywhere on the chain, issued at or before the revocation', () => {
  const index = new RevocationIndex();
  index.add(revoked('agent', 'hr-agent'));
  assert.equal(index.isRevoked(token({ agents: ['hr-agent'] })), true);
  assert.equal(index.isRevoked(token({ agents: ['sub-agent', 'hr-agent'] })), true, 'deeper in the chain');
  assert.equal(index.isRevoked(token({ agents: ['sub-agent', 'hr-agent'], issuedAtSeconds: T + 1 })), false);
  assert.equal(index.isRevoked(token({ agents: ['sub-agent'] })), false);
});

test('revocation requests: one of four targets, a value and a reason, nothing else', () => {
  assert.deepEqual(parseRevocationRequest({ target: 'user', value: 'alice', reason: 'left' }), {
    target: 'user',
    value: 'alice',
    reason: 'left',
  });
  const bad = [
    null,
    [],
    'user',
    { target: 'role', value: 'x', reason: 'r' },
    { target: 'user', value: '', reason: 'r' },
    { target: 'user', value: 'alice', reason: '  ' },
    { target: 'user', value: 'alice' },
    { target: 'user', value: 7, reason: 'r' },
    { target: 'user', value: 'x'.repeat(1025), reason: 'r' },
    { target: 'user', value: 'alice', reason: 'r', until: 'tomorrow' },
  ];
  for (const input of bad) {
    assert.throws(
      () => parseRevocationRequest(input),
      (e: unknown) => e instanceof MandateError && e.code === 'MANDATE_REQUEST_MALFORMED',
      JSON.stringify(input),
    );
  }
});
