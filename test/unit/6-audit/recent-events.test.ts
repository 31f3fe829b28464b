import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { exportEvents } from '../../../gateway/pipeline/6-audit/export.ts';
import { readChainHead } from '../../../gateway/pipeline/6-audit/head.ts';
import { searchCalls, searchEvents } from '../../../gateway/pipeline/6-audit/query.ts';
import { AuditStore } from '../../../gateway/pipeline/6-audit/store.ts';
import { verifyChain } from '../../../gateway/pipeline/6-audit/verify.ts';
import { scanChainParallel } from '../../../gateway/pipeline/6-audit/verify-parallel.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent } from './fixtures.ts';

const dir = tempDir('mandate-recent-');
let files = 0;
const newDbFile = () => join(dir, `run-${++files}`, 'audit.db');

const seqsIn = (file: string, table: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT seq FROM ${table} ORDER BY seq`).pluck().all() as number[];
  } finally {
    db.close();
  }
};

/** A call: its decision and its outcome, under one correlation id. */
const call = (n: number) => [
  auditEvent({ correlationId: `call-${n}`, jti: `jti-${n}` }),
  auditEvent({ kind: 'outcome', correlationId: `call-${n}`, jti: `jti-${n}`, status: 200, durationMs: 3 }),
];

test('appends land in recent_events; a fold moves the oldest, a prefix, into events', () => {
  const file = newDbFile();
  const store = AuditStore.open(file);
  store.appendBatch([...call(1), ...call(2), ...call(3)]);
  assert.deepEqual(seqsIn(file, 'events'), []);
  assert.deepEqual(seqsIn(file, 'recent_events'), [1, 2, 3, 4, 5, 6]);

  assert.equal(store.foldRecent(4), 4);
  assert.deepEqual(seqsIn(file, 'events'), [1, 2, 3, 4]);
  assert.deepEqual(seqsIn(file, 'recent_events'), [5, 6]);
  assert.deepEqual(seqsIn(file, 'all_events'), [1, 2, 3, 4, 5, 6]);

  // The chain continues from the newest row, wherever it is.
  assert.equal(store.append(auditEvent()).seq, 7);
  assert.deepEqual(verifyChain(file), { ok: true, events: 7 });
  store.close();
});

test('close folds everything; open folds what a crash left', () => {
  const file = newDbFile();
  const crashed = AuditStore.open(file);
  crashed.appendBatch(call(1));
  // No close: the rows stay in recent_events, as when the process dies.
  const reopened = AuditStore.open(file);
  assert.deepEqual(seqsIn(file, 'events'), [1, 2]);
  assert.deepEqual(seqsIn(file, 'recent_events'), []);
  reopened.appendBatch(call(2));
  reopened.close();
  assert.deepEqual(seqsIn(file, 'events'), [1, 2, 3, 4]);
  assert.deepEqual(seqsIn(file, 'recent_events'), []);
  assert.deepEqual(verifyChain(file), { ok: true, events: 4 });
});

test('a recent event is never updated, and leaves recent_events only once it is in events', () => {
  const file = newDbFile();
  const store = AuditStore.open(file);
  store.appendBatch(call(1));
  const db = new Database(file);
  try {
    assert.throws(() => db.exec("UPDATE recent_events SET user = 'mallory'"), /append-only/);
    assert.throws(() => db.exec('DELETE FROM recent_events WHERE seq = 2'), /leaves only for events/);
  } finally {
    db.close();
  }
  assert.deepEqual(seqsIn(file, 'recent_events'), [1, 2]);
  store.close();
});

test('readers see every event, folded or recent: head, search, calls, export, verify', async () => {
  const file = newDbFile();
  const store = AuditStore.open(file);
  // Call 1 folded whole; call 2's decision folded, its outcome still recent; call 3 recent whole.
  store.appendBatch([...call(1), call(2)[0]!]);
  store.foldRecent(100);
  store.appendBatch([call(2)[1]!, ...call(3)]);
  const db = new Database(file, { readonly: true });
  try {
    assert.deepEqual(readChainHead(db).seq, 6);
    assert.deepEqual(
      searchEvents(db, { limit: undefined, kind: 'outcome' }).map((r) => r.seq),
      [2, 4, 6],
    );
    assert.deepEqual(
      searchEvents(db, { limit: 2, user: 'alice@example.com' }).map((r) => r.seq),
      [5, 6],
      'the latest two, from recent_events',
    );
    assert.deepEqual(
      searchEvents(db, { limit: 3, user: 'alice@example.com' }).map((r) => r.seq),
      [4, 5, 6],
      'the latest three, across both tables',
    );
    const calls = searchCalls(db, { limit: undefined });
    assert.deepEqual(
      calls.map((c) => [c.correlation_id, c.seq, c.outcome_seq, c.status]),
      [
        ['call-1', 1, 2, 200],
        ['call-2', 3, 4, 200],
        ['call-3', 5, 6, 200],
      ],
    );
  } finally {
    db.close();
  }
  const exported = [...exportEvents(file)].join('').trim().split('\n');
  assert.deepEqual(
    exported.map((line) => JSON.parse(line).seq),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(verifyChain(file), { ok: true, events: 6 });
  const parallel = await scanChainParallel(file, [], undefined, { threads: 2, minRows: 1 });
  assert.equal(parallel.ok, true);
  assert.equal(parallel.head.seq, 6);
  store.close();
});

test('a recent row modified behind the triggers fails verification at its seq', () => {
  const file = newDbFile();
  const store = AuditStore.open(file);
  store.appendBatch(call(1));
  store.foldRecent(1);
  store.appendBatch(call(2));
  const db = new Database(file);
  try {
    db.exec('DROP TRIGGER recent_events_no_update; UPDATE recent_events SET status = 500 WHERE seq = 4;');
  } finally {
    db.close();
  }
  const verdict = verifyChain(file);
  assert.equal(verdict.ok, false);
  assert.equal(verdict.firstBadSeq, 4);
  store.close();
});
