import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { LoginStore } from '../../../gateway/approvals/login-store.ts';
import { tempDir } from '../../temp-dir.ts';

const dir = tempDir('mandate-login-store-');
let files = 0;
let nowMs = 1_000_000;
const open = () => {
  const file = join(dir, `state-${files++}.db`);
  return { file, store: LoginStore.open(file, () => nowMs) };
};
const login = (expiresAtMs: number) => ({ verifier: 'v', nonce: 'n', redirectUri: 'http://127.0.0.1/cb', expiresAtMs });
const session = (expiresAtMs: number) => ({ user: 'alice', issuer: 'https://idp', csrf: 'c', expiresAtMs });

test('a login state completes once, whichever process on the file reads it first', () => {
  const { file, store: a } = open();
  const b = LoginStore.open(file, () => nowMs);
  a.addLogin('state-1', login(nowMs + 60_000));
  assert.deepEqual(b.takeLogin('state-1'), login(nowMs + 60_000));
  assert.equal(a.takeLogin('state-1'), undefined, 'used');
  assert.equal(b.takeLogin('unknown'), undefined);
  a.close();
  b.close();
});

test('sessions are shared and kept by the hash of their id only; ended on one process, gone on all', () => {
  const { file, store: a } = open();
  const id = 'secret-session-id-that-the-browser-holds';
  a.addSession(id, session(nowMs + 60_000));
  a.close();
  // Another process, or the same gateway after a restart.
  const b = LoginStore.open(file, () => nowMs);
  assert.deepEqual(b.session(id), session(nowMs + 60_000));
  const db = new Database(file, { readonly: true });
  const row = db.prepare('SELECT id_sha256 FROM approval_sessions').get() as { id_sha256: string };
  db.close();
  assert.match(row.id_sha256, /^[0-9a-f]{64}$/);
  for (const suffix of ['', '-wal']) assert.ok(!readFileSync(file + suffix).includes(id), 'no raw session id on disk');
  b.endSession(id);
  assert.equal(b.session(id), undefined);
  b.close();
});

test('expired rows are pruned as new ones come, and the tables stay bounded', () => {
  const { file, store } = open();
  store.addSession('old', session(nowMs + 1000));
  store.addLogin('old', login(nowMs + 1000));
  nowMs += 2000;
  store.addSession('new', session(nowMs + 1000));
  store.addLogin('new', login(nowMs + 1000));
  const db = new Database(file, { readonly: true });
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  assert.deepEqual([count('approval_sessions'), count('approval_logins')], [1, 1]);
  for (let i = 0; i < 10_100; i++) store.addLogin(`flood-${i}`, login(nowMs + 60_000 + i));
  // Checked every 32nd add, pruned to 32 below the bound: never above it from one process.
  const flooded = count('approval_logins');
  assert.ok(flooded <= 10_000 && flooded > 10_000 - 32, `${flooded} rows`);
  assert.equal(store.takeLogin('flood-0'), undefined, 'the entry closest to expiry went first');
  assert.ok(store.takeLogin('flood-10099'));
  // Pruning by expiry reads an index range, not the whole table (anyone can begin a login).
  for (const table of ['approval_logins', 'approval_sessions']) {
    const plan = db.prepare(`EXPLAIN QUERY PLAN DELETE FROM ${table} WHERE expires_at_ms <= 0`).all() as {
      detail: string;
    }[];
    assert.match(plan.map((p) => p.detail).join('; '), new RegExp(`SEARCH ${table} USING .*INDEX ${table}_expiry`));
  }
  db.close();
  store.close();
});
