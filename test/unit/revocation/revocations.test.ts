import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { RevocationStore } from '../../../gateway/revocation/revocation-store.ts';
import { Revocations } from '../../../gateway/revocation/revocations.ts';
import { tempDir } from '../../temp-dir.ts';
import { T, token } from './fixtures.ts';

const stateDb = () => join(tempDir('mandate-state-'), 'state.db');

test('a revocation is in effect when revoke returns, stored with who, when and why', () => {
  const file = stateDb();
  const revocations = Revocations.open(file, { now: () => T * 1000 + 250 });
  try {
    assert.equal(revocations.isRevoked(token()), false);
    const { revocation, persisted } = revocations.revoke({ target: 'jti', value: 'jti-1', reason: 'leaked' }, 'ops');
    assert.equal(persisted, true);
    assert.equal(revocations.isRevoked(token()), true);
    assert.deepEqual(revocations.list(10), [
      {
        id: revocation.id,
        target: 'jti',
        value: 'jti-1',
        reason: 'leaked',
        revokedAtMs: T * 1000 + 250,
        revokedBy: 'ops',
        // No token given: the longest a token can live (default 3600 s) plus the leeway (30 s).
        expiresAtMs: T * 1000 + 250 + 3_630_000,
      },
    ]);
  } finally {
    revocations.close();
  }
});

test('revocations survive a restart: loaded whole from the state database at open', () => {
  const file = stateDb();
  const first = Revocations.open(file, { now: () => T * 1000 });
  first.revoke({ target: 'user', value: 'alice', reason: 'sign-out' }, 'ops');
  first.revoke({ target: 'txn', value: 'task-1', reason: 'cancelled' }, 'ops');
  first.close();
  const second = Revocations.open(file);
  try {
    assert.equal(second.isRevoked(token({ txn: null })), true, 'user');
    assert.equal(second.isRevoked(token({ user: 'bob', issuedAtSeconds: T + 3600 })), true, 'txn');
    assert.equal(second.isRevoked(token({ user: 'bob', txn: null })), false);
  } finally {
    second.close();
  }
});

test("another process's revocation is picked up within the poll interval", async () => {
  const file = stateDb();
  const gateway = Revocations.open(file, { pollMs: 50 });
  // Another connection to the same file, as `mandate revoke` has.
  const cli = RevocationStore.open(file);
  try {
    gateway.revoke({ target: 'jti', value: 'own', reason: 'r' }, 'ops');
    cli.insert({ target: 'agent', value: 'hr-agent', reason: 'compromised' }, 'cli:root', T * 1000, null);
    assert.equal(gateway.isRevoked(token({ jti: 'other' })), false, 'not before the poll');
    for (let i = 0; i < 40 && !gateway.isRevoked(token({ jti: 'other' })); i++) await sleep(25);
    assert.equal(gateway.isRevoked(token({ jti: 'other' })), true);
    assert.equal(gateway.isRevoked(token({ jti: 'own', agents: ['x'] })), true, 'own revocation still in force');
  } finally {
    cli.close();
    gateway.close();
  }
});

test('a state database that refuses the write: in effect in this process, reported as not persisted', () => {
  const file = stateDb();
  const revocations = Revocations.open(file, { busyTimeoutMs: 50 });
  // Another connection holds the write lock for longer than the busy timeout.
  const locker = new Database(file);
  locker.exec('BEGIN IMMEDIATE');
  try {
    const { revocation, persisted } = revocations.revoke({ target: 'jti', value: 'jti-1', reason: 'r' }, 'ops');
    assert.equal(persisted, false);
    assert.equal(revocation.id, 0);
    assert.equal(revocations.isRevoked(token()), true);
  } finally {
    locker.exec('ROLLBACK');
    locker.close();
    revocations.close();
  }
  const reopened = Revocations.open(file);
  assert.equal(reopened.isRevoked(token()), false, 'it was not stored: the caller must retry');
  reopened.close();
});
