import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { AuditStore } from '../../../gateway/pipeline/6-audit/store.ts';
import { scanChain, verifyChain } from '../../../gateway/pipeline/6-audit/verify.ts';
import { scanChainParallel } from '../../../gateway/pipeline/6-audit/verify-parallel.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent } from './fixtures.ts';

// verify's fast path (a fixed-shape object per raw row) must accept exactly what the store's
// chainHash wrote, and the parallel scan must reach exactly the one-thread verdict.

const dir = tempDir('mandate-verify-');
const db = join(dir, 'audit.db');

before(() => {
  const store = AuditStore.open(db);
  store.appendBatch(
    Array.from({ length: 400 }, (_, i) =>
      auditEvent({
        kind: i % 2 ? 'outcome' : 'decision',
        intent: `ünïcødé "q" \\ \n ${'\u2028'} ${i}`,
        status: i % 2 ? 200 + (i % 7) : null,
        durationMs: i % 3 ? i / 8 : null,
        bytesOut: i,
        detail: i % 5 ? null : { nested: { n: i, list: [1, 'two', null] } },
        user: i % 11 ? `user-${i}` : null,
      }),
    ),
  );
  store.close();
});

let copies = 0;
function tampered(sql: string): string {
  const file = join(dir, `t-${++copies}.db`);
  copyFileSync(db, file);
  execFileSync('sqlite3', [file, sql]);
  return file;
}

test('the fast path accepts every row the store hashed, whatever the values', () => {
  assert.deepEqual(verifyChain(db), { ok: true, events: 400 });
});

test('a value the fast path cannot encode is decided by the generic encoder: an infinity is a bad row', () => {
  const infinite = verifyChain(
    tampered('DROP TRIGGER events_no_update; UPDATE events SET duration_ms = 9e999 WHERE seq = 9;'),
  );
  assert.equal(infinite.firstBadSeq, 9);
});

test('the parallel scan reaches the one-thread verdict, intact or broken, and collects the wanted hashes', async () => {
  const options = { threads: 3, minRows: 10 };
  const wanted = [1, 150, 399, 400];
  const parallel = await scanChainParallel(db, wanted, undefined, options);
  const serial = scanChain(db, wanted);
  assert.deepEqual(parallel, serial);
  assert.equal(parallel.hashes.size, 4);
  for (const sql of [
    'DROP TRIGGER events_no_update; UPDATE events SET user = 1 WHERE seq = 250;',
    'DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = 134;', // the last row of a stretch
    'DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = 135;', // the first row of a stretch
    'DROP TRIGGER events_no_update; UPDATE events SET seq = 0 WHERE seq = 400;',
  ]) {
    const file = tampered(sql);
    const { hashes: _p, ...p } = await scanChainParallel(file, wanted, undefined, options);
    const { hashes: _s, ...s } = scanChain(file, wanted);
    assert.equal(p.ok, false, sql);
    assert.deepEqual(p, s, sql);
  }
});
