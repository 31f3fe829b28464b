import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { MandateError } from '../../../gateway/errors.ts';
import { chainHash, GENESIS_HASH } from '../../../gateway/pipeline/6-audit/chain.ts';
import { toChainedFields } from '../../../gateway/pipeline/6-audit/row.ts';
import { AuditStore } from '../../../gateway/pipeline/6-audit/store.ts';
import { verifyChain } from '../../../gateway/pipeline/6-audit/verify.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent } from './fixtures.ts';

const dir = tempDir('mandate-');
let files = 0;
const newDbFile = () => join(dir, `run-${++files}`, 'audit.db');

const isAuditUnavailable = (error: unknown) =>
  error instanceof MandateError && error.code === 'MANDATE_AUDIT_UNAVAILABLE';

test('open creates the parent folder and a WAL database', () => {
  const file = newDbFile();
  const store = AuditStore.open(file);
  store.close();
  assert.ok(existsSync(file));
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
});

test('appended events form a chain from the genesis hash, and verify accepts it', () => {
  const file = newDbFile();
  const store = AuditStore.open(file);
  const decision = auditEvent();
  const first = store.append(decision);
  const second = store.append(
    auditEvent({ kind: 'outcome', status: 201, durationMs: 12.5, bytesIn: 10, bytesOut: 20 }),
  );
  store.close();

  assert.equal(first.seq, 1);
  assert.equal(first.prevHash, GENESIS_HASH);
  assert.equal(first.hash, chainHash(GENESIS_HASH, toChainedFields(decision, 1)));
  assert.equal(first.user, decision.user, 'the stored event carries the event fields');
  assert.equal(second.seq, 2);
  assert.equal(second.prevHash, first.hash);
  assert.match(second.hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(verifyChain(file), { ok: true, events: 2 });
});

test('a row holds the event in snake_case columns, JSON columns as JSON text', () => {
  const file = newDbFile();
  const store = AuditStore.open(file);
  const stored = store.append(auditEvent({ policyReasons: ['over budget'] }));
  store.close();
  const db = new Database(file, { readonly: true });
  const row = db.prepare('SELECT * FROM events').get() as Record<string, unknown>;
  db.close();
  assert.equal(row.seq, 1);
  assert.equal(row.user, 'alice@example.com');
  assert.equal(row.correlation_id, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(row.resource_type, 'purchase_order');
  assert.equal(row.actor_chain, '[{"sub":"procurement-bot","iss":"https://idp.example.com"}]');
  assert.equal(row.policy_reasons, '["over budget"]');
  assert.equal(row.status, null);
  assert.equal(row.prev_hash, GENESIS_HASH);
  assert.equal(row.hash, stored.hash);
});

test('reopening a store continues the chain', () => {
  const file = newDbFile();
  const first = AuditStore.open(file);
  const one = first.append(auditEvent());
  first.close();
  const second = AuditStore.open(file);
  const two = second.append(auditEvent());
  second.close();
  assert.equal(two.seq, 2);
  assert.equal(two.prevHash, one.hash);
  assert.equal(verifyChain(file).ok, true);
});

test('two stores appending to the same file keep one unbroken chain', () => {
  const file = newDbFile();
  const a = AuditStore.open(file);
  const b = AuditStore.open(file);
  const seqs = [a, b, b, a, b, a, a].map((store) => store.append(auditEvent()).seq);
  a.close();
  b.close();
  assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(verifyChain(file), { ok: true, events: 7 });
});

test('while another connection holds the write lock, append fails closed and the chain does not advance', () => {
  const file = newDbFile();
  const store = AuditStore.open(file, { busyTimeoutMs: 50 });
  const first = store.append(auditEvent());
  const other = new Database(file, { timeout: 0 });
  other.exec('BEGIN EXCLUSIVE');

  assert.throws(() => store.append(auditEvent({ jti: 'lost' })), isAuditUnavailable);
  assert.equal(store.isWritable(), false);

  other.exec('ROLLBACK');
  other.close();
  assert.equal(store.isWritable(), true);
  const next = store.append(auditEvent());
  store.close();
  assert.equal(next.seq, 2);
  assert.equal(next.prevHash, first.hash);
  assert.deepEqual(verifyChain(file), { ok: true, events: 2 });
});

test('a closed store refuses to append and is not writable', () => {
  const store = AuditStore.open(newDbFile());
  store.close();
  assert.throws(() => store.append(auditEvent()), isAuditUnavailable);
  assert.equal(store.isWritable(), false);
});

test('a store that cannot be opened throws MANDATE_AUDIT_UNAVAILABLE', () => {
  const file = newDbFile();
  AuditStore.open(join(file, 'inner.db')).close(); // makes `file` a folder
  assert.throws(() => AuditStore.open(file), isAuditUnavailable);
});

test('triggers refuse UPDATE and DELETE', () => {
  const file = newDbFile();
  const store = AuditStore.open(file);
  store.append(auditEvent());
  store.close();
  const db = new Database(file);
  assert.throws(() => db.exec(`UPDATE events SET decision = 'deny'`), /append-only/);
  assert.throws(() => db.exec('DELETE FROM events'), /append-only/);
  db.close();
});

test('values SQLite cannot store as given are normalised before hashing, so the chain still verifies', () => {
  const file = newDbFile();
  const store = AuditStore.open(file);
  const stored = store.append(auditEvent({ intent: 'lone \ud800 surrogate', durationMs: Number.NaN, status: 200 }));
  store.close();
  assert.equal(stored.seq, 1);
  assert.deepEqual(verifyChain(file), { ok: true, events: 1 });
});
