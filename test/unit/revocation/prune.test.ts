import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { MandateError } from '../../../gateway/errors.ts';
import { parseRevocationRequest, type Revocation } from '../../../gateway/revocation/revocation.ts';
import { RevocationIndex } from '../../../gateway/revocation/revocation-index.ts';
import { Revocations } from '../../../gateway/revocation/revocations.ts';
import { tempDir } from '../../temp-dir.ts';
import { T, token } from './fixtures.ts';

const stateDb = () => join(tempDir('mandate-state-'), 'state.db');
const LIMITS = { max_lifetime_seconds: 300, clock_skew_seconds: 30 };

/** A clock the test moves. */
function clock(startMs: number) {
  let nowMs = startMs;
  return { now: () => nowMs, advance: (ms: number) => (nowMs += ms) };
}

const revoked = (target: Revocation['target'], value: string, expiresAtMs: number | null): Revocation => ({
  id: 1,
  target,
  value,
  reason: 'test',
  revokedAtMs: T * 1000,
  revokedBy: 'ops',
  expiresAtMs,
});

test('index: prune forgets jti revocations past their expiry, nothing else', () => {
  const index = new RevocationIndex();
  index.add(revoked('jti', 'old', T * 1000 + 1000));
  index.add(revoked('jti', 'young', T * 1000 + 5000));
  index.add(revoked('jti', 'legacy', null));
  index.add(revoked('txn', 'task-9', null));
  index.add(revoked('user', 'carol', null));
  assert.equal(index.prune(T * 1000 + 2000), 1);
  assert.equal(index.isRevoked(token({ jti: 'old', txn: null })), false);
  assert.equal(index.isRevoked(token({ jti: 'young', txn: null })), true);
  assert.equal(index.isRevoked(token({ jti: 'legacy', txn: null })), true, 'no expiry: never pruned');
  assert.equal(index.isRevoked(token({ jti: 'x', txn: 'task-9', issuedAtSeconds: T + 99_999 })), true);
  assert.equal(index.isRevoked(token({ jti: 'x', user: 'carol', txn: null })), true);
});

test('index: a jti revoked twice keeps the later expiry', () => {
  const index = new RevocationIndex();
  index.add(revoked('jti', 'j', T * 1000 + 5000));
  index.add(revoked('jti', 'j', T * 1000 + 1000));
  assert.equal(index.prune(T * 1000 + 2000), 0);
  assert.equal(index.isRevoked(token({ jti: 'j', txn: null })), true);
});

test("a jti revocation lasts until the token's exp, or the longest token lifetime, plus the leeway", () => {
  const file = stateDb();
  const time = clock(T * 1000);
  const revocations = Revocations.open(file, { now: time.now, tokenLimits: LIMITS, pruneEveryMs: 3_600_000 });
  try {
    const bare = revocations.revoke({ target: 'jti', value: 'bare', reason: 'leaked' }, 'ops').revocation;
    assert.equal(bare.expiresAtMs, T * 1000 + 330_000);
    const given = revocations.revoke(
      { target: 'jti', value: 'given', reason: 'leaked', tokenExpiresAtMs: T * 1000 + 60_000 },
      'ops',
    ).revocation;
    assert.equal(given.expiresAtMs, T * 1000 + 90_000);
    const user = revocations.revoke({ target: 'user', value: 'carol', reason: 'sign-out' }, 'ops').revocation;
    assert.equal(user.expiresAtMs, null);

    time.advance(90_001);
    revocations.prune();
    assert.equal(revocations.isRevoked(token({ jti: 'given', txn: null })), false);
    assert.equal(revocations.isRevoked(token({ jti: 'bare', txn: null })), true);
    assert.deepEqual(
      revocations.list(10).map((r) => r.value),
      ['carol', 'bare'],
      'deleted from the state database too',
    );

    time.advance(240_000);
    revocations.prune();
    assert.equal(revocations.isRevoked(token({ jti: 'bare', txn: null })), false);
    assert.deepEqual(
      revocations.list(10).map((r) => r.value),
      ['carol'],
    );
    assert.equal(revocations.isRevoked(token({ jti: 'z', user: 'carol', txn: null })), true, 'users are never pruned');
  } finally {
    revocations.close();
  }
  const reopened = Revocations.open(file, { now: () => T * 1000 });
  try {
    assert.equal(reopened.isRevoked(token({ jti: 'bare', user: 'bob', txn: null })), false, 'gone for good');
  } finally {
    reopened.close();
  }
});

test('pruning runs by itself with the poll, at most every pruneEveryMs', async () => {
  const time = clock(T * 1000);
  const revocations = Revocations.open(stateDb(), {
    now: time.now,
    tokenLimits: LIMITS,
    pollMs: 10,
    pruneEveryMs: 1000,
  });
  try {
    revocations.revoke({ target: 'jti', value: 'j', reason: 'r', tokenExpiresAtMs: T * 1000 }, 'ops');
    time.advance(30_001);
    for (let i = 0; i < 100 && revocations.isRevoked(token({ jti: 'j', txn: null })); i++) await sleep(10);
    assert.equal(revocations.isRevoked(token({ jti: 'j', txn: null })), false);
    assert.equal(revocations.list(10).length, 0);
  } finally {
    revocations.close();
  }
});

test('a state database from before expiring jti revocations opens; its jti rows never expire', () => {
  const file = stateDb();
  const old = new Database(file);
  old.exec(`CREATE TABLE revocations (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL CHECK (target IN ('user', 'txn', 'agent', 'jti')),
    value TEXT NOT NULL, revoked_at TEXT NOT NULL, revoked_at_ms INTEGER NOT NULL,
    revoked_by TEXT NOT NULL, reason TEXT NOT NULL) STRICT;
    INSERT INTO revocations (target, value, revoked_at, revoked_at_ms, revoked_by, reason)
      VALUES ('jti', 'ancient', '2026-01-01T00:00:00.000Z', ${T * 1000}, 'ops', 'leaked');`);
  old.close();
  const revocations = Revocations.open(file, { now: () => (T + 999_999) * 1000, tokenLimits: LIMITS });
  try {
    assert.equal(revocations.isRevoked(token({ jti: 'ancient', txn: null })), true);
    const fresh = revocations.revoke({ target: 'jti', value: 'fresh', reason: 'r' }, 'ops');
    assert.equal(fresh.persisted, true);
    assert.equal(revocations.list(1)[0]!.expiresAtMs, (T + 999_999) * 1000 + 330_000);
  } finally {
    revocations.close();
  }
});

test('revocation requests: expires_at is the revoked token exp, for jti only', () => {
  assert.equal(
    parseRevocationRequest({ target: 'jti', value: 'j', reason: 'r', expires_at: T }).tokenExpiresAtMs,
    T * 1000,
  );
  for (const bad of [
    { target: 'user', value: 'alice', reason: 'r', expires_at: T },
    { target: 'jti', value: 'j', reason: 'r', expires_at: '2026-01-01' },
    { target: 'jti', value: 'j', reason: 'r', expires_at: 1.5 },
    { target: 'jti', value: 'j', reason: 'r', expires_at: 0 },
  ]) {
    assert.throws(
      () => parseRevocationRequest(bad),
      (e: unknown) => e instanceof MandateError && e.code === 'MANDATE_REQUEST_MALFORMED',
    );
  }
});
