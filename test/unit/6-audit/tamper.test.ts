import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { columnNames } from '../../../gateway/pipeline/6-audit/schema.ts';
import { AuditStore } from '../../../gateway/pipeline/6-audit/store.ts';
import { verifyChain } from '../../../gateway/pipeline/6-audit/verify.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent, runMandate } from './fixtures.ts';

// Tampering as an attacker with write access to the file would do it: the real sqlite3 CLI,
// dropping the append-only triggers first. Verification runs as a real `mandate` process.

const dir = tempDir('mandate-');
const pristine = join(dir, 'pristine.db');

before(() => {
  const store = AuditStore.open(pristine);
  for (let i = 1; i <= 5; i++) {
    store.append(auditEvent({ time: `2026-07-01T10:00:0${i}.000Z`, correlationId: `trace-${i}`, jti: `jti-${i}` }));
  }
  store.close();
});

let copies = 0;
/** A copy of the pristine five-event log with `sql` applied through the sqlite3 CLI. */
function tampered(sql: string): string {
  const file = join(dir, `tampered-${++copies}.db`);
  copyFileSync(pristine, file);
  execFileSync('sqlite3', [file, sql]);
  return file;
}

const verify = (file: string) => runMandate(['audit', 'verify', '--db', file]);

test('an untouched log verifies: exit 0', () => {
  const result = verify(pristine);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^OK: audit chain intact, 5 events/);
});

test('a modified field is detected at its row', () => {
  const result = verify(tampered(`DROP TRIGGER events_no_update; UPDATE events SET decision = 'deny' WHERE seq = 3;`));
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^BROKEN at seq 3: content does not match its hash/);
  assert.match(result.stdout, /2 events intact before it/);
});

test('a deleted row is detected as a seq gap', () => {
  const result = verify(tampered('DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = 3;'));
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^BROKEN at seq 3: seq 3 is missing, the next row is seq 4/);
});

test('a forged row inserted in the middle, correctly linked to the row before it, is detected', () => {
  // Make room at seq 3, then insert a copy of row 2 naming another user, with prev_hash = row 2's hash.
  const forged = columnNames
    .map((column) => ({ seq: '3', user: `'mallory'`, prev_hash: 'hash' })[column as string] ?? column)
    .join(', ');
  const file = tampered(`DROP TRIGGER events_no_update;
    UPDATE events SET seq = seq + 100 WHERE seq >= 3;
    UPDATE events SET seq = seq - 99 WHERE seq >= 100;
    INSERT INTO events SELECT ${forged} FROM events WHERE seq = 2;`);
  assert.equal(verifyChain(file).events, 2);
  const result = verify(file);
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^BROKEN at seq 3: content does not match its hash \(row modified or forged\)/);
});

test('two rows swapped are detected by the broken link', () => {
  const result = verify(
    tampered(`DROP TRIGGER events_no_update;
      UPDATE events SET seq = -3 WHERE seq = 3;
      UPDATE events SET seq = 3 WHERE seq = 4;
      UPDATE events SET seq = 4 WHERE seq = -3;`),
  );
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^BROKEN at seq 3: prev_hash does not match the hash of seq 2/);
});

test('a missing --db, a missing file or a file that is not an audit log: exit 2', () => {
  assert.equal(runMandate(['audit', 'verify']).status, 2);
  assert.equal(runMandate(['audit', 'verify', '--db', pristine, '--bogus']).status, 2);
  assert.equal(verify(join(dir, 'absent.db')).status, 2);
  const notSqlite = join(dir, 'not-sqlite.db');
  writeFileSync(notSqlite, 'just text, long enough to not look like an empty database file'.repeat(20));
  assert.equal(verify(notSqlite).status, 2);
});
