import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { chainHash } from '../../../gateway/pipeline/6-audit/chain.ts';
import { hasValidSignature, parseCheckpoint } from '../../../gateway/pipeline/6-audit/checkpoint.ts';
import { readPublicKeys } from '../../../gateway/pipeline/6-audit/checkpoint-keys.ts';
import { Checkpointer } from '../../../gateway/pipeline/6-audit/checkpointer.ts';
import type { ChainedFields } from '../../../gateway/pipeline/6-audit/row.ts';
import { columnNames } from '../../../gateway/pipeline/6-audit/schema.ts';
import { AuditStore } from '../../../gateway/pipeline/6-audit/store.ts';
import { verifyChain } from '../../../gateway/pipeline/6-audit/verify.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent, runMandate } from './fixtures.ts';

// Checkpoints as the writer thread takes them (the Checkpointer on a real SQLite file), checked and
// attacked as an auditor and an attacker would: the real `mandate` CLI and the sqlite3 CLI.

const root = tempDir('mandate-checkpoint-');
let runs = 0;

interface Log {
  readonly dir: string;
  readonly db: string;
  readonly file: string;
  readonly keyDir: string;
  readonly keys: string;
}

function newLog(): Log {
  const dir = join(root, `log-${++runs}`);
  return {
    dir,
    db: join(dir, 'audit.db'),
    file: join(dir, 'elsewhere', 'checkpoints.jsonl'),
    keyDir: join(dir, 'keys'),
    keys: join(dir, 'keys', 'public-keys.json'),
  };
}

/** Appends `count` events one commit each, through a Checkpointer taking one every `everyEvents`. */
function append(log: Log, count: number, everyEvents: number, close = true): void {
  const store = AuditStore.open(log.db);
  const checkpointer = Checkpointer.open(log.db, {
    everyEvents,
    everySeconds: 3600,
    keyDir: log.keyDir,
    file: log.file,
  });
  for (let i = 0; i < count; i++) checkpointer.committed(store.append(auditEvent({ jti: `jti-${i}` })));
  if (close) checkpointer.close();
  store.close();
}

const fileCheckpoints = (log: Log) =>
  readFileSync(log.file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => parseCheckpoint(line)!);
const storedCheckpoints = (log: Log) => {
  const db = new Database(log.db, { readonly: true });
  const rows = db.prepare('SELECT seq, hash, time, key_id, signature FROM checkpoints ORDER BY rowid').all();
  db.close();
  return rows;
};
const verify = (log: Log, ...extra: string[]) =>
  runMandate(['audit', 'verify', '--db', log.db, '--keys', log.keys, ...extra]);
const verifyWithFile = (log: Log) => verify(log, '--checkpoints', log.file);

/** A copy of the log (database, checkpoint file, keys) with `sql` applied through the sqlite3 CLI. */
function tampered(log: Log, sql: string): Log {
  const copy = newLog();
  cpSync(log.dir, copy.dir, { recursive: true });
  execFileSync('sqlite3', [copy.db, sql]);
  return copy;
}

const base = newLog();
append(base, 10, 4);

test('a checkpoint every N events, and one on close covering the tail: in the table and the file alike', () => {
  const checkpoints = fileCheckpoints(base);
  assert.deepEqual(
    checkpoints.map((c) => c.seq),
    [4, 8, 10],
  );
  assert.deepEqual(storedCheckpoints(base), checkpoints);
  const db = new Database(base.db, { readonly: true });
  for (const c of checkpoints) {
    assert.equal(c.hash, db.prepare('SELECT hash FROM events WHERE seq = ?').pluck().get(c.seq) as string);
  }
  db.close();
});

test('checkpoints are Ed25519 signatures by the key in public-keys.json; the private key is 0600', () => {
  const keys = readPublicKeys(base.keys);
  assert.equal(keys.size, 1);
  for (const c of fileCheckpoints(base)) assert.ok(hasValidSignature(c, keys.get(c.key_id)!));
  assert.equal(statSync(join(base.keyDir, 'signing-key.pem')).mode & 0o777, 0o600);
  assert.doesNotMatch(readFileSync(base.keys, 'utf8'), /"d"/, 'no private key material in the public file');
});

test('a checkpoint every T seconds, also when nothing was appended (heartbeat)', async () => {
  const log = newLog();
  const store = AuditStore.open(log.db);
  const checkpointer = Checkpointer.open(log.db, {
    everyEvents: 1000,
    everySeconds: 1,
    keyDir: log.keyDir,
    file: log.file,
  });
  checkpointer.committed(store.append(auditEvent()));
  checkpointer.committed(store.append(auditEvent()));
  await new Promise((r) => setTimeout(r, 2300));
  checkpointer.close();
  store.close();
  const seqs = fileCheckpoints(log).map((c) => c.seq);
  assert.ok(seqs.length >= 2, `two timer checkpoints in 2.3 s, got ${seqs.join(',')}`);
  assert.ok(seqs.every((s) => s === 2));
});

test('verify with the keys and the checkpoint file: exit 0, every checkpoint checked', () => {
  const result = verifyWithFile(base);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^OK: audit chain intact, 10 events up to seq 10, 6 checkpoints verified/);
  assert.equal(result.stderr, '');
});

test('a checkpoint whose seq or hash was altered fails its signature: exit 3, naming it', () => {
  const copy = tampered(base, 'SELECT 1;');
  const lines = readFileSync(copy.file, 'utf8').split('\n');
  lines[1] = lines[1]!.replace('"seq":8', '"seq":9');
  writeFileSync(copy.file, lines.join('\n'));
  const result = verifyWithFile(copy);
  assert.equal(result.status, 3, result.stdout);
  assert.match(result.stdout, /^BAD CHECKPOINT at seq 9: .*checkpoints\.jsonl line 2 \(seq 9\): invalid signature/);
});

test("a checkpoint signed by a key not in the auditor's key set: exit 3", () => {
  const other = newLog();
  append(other, 1, 1);
  const result = runMandate(['audit', 'verify', '--db', base.db, '--keys', other.keys, '--checkpoints', base.file]);
  assert.equal(result.status, 3);
  assert.match(result.stdout, /signed by unknown key/);
});

test('tail truncation: caught with the checkpoint file, naming the first missing seq; without it, a warning', () => {
  const cut = tampered(
    base,
    `DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > 8;
     DROP TRIGGER checkpoints_no_delete; DELETE FROM checkpoints WHERE seq > 8;`,
  );
  const caught = verifyWithFile(cut);
  assert.equal(caught.status, 4, caught.stdout);
  assert.match(caught.stdout, /^TRUNCATED at seq 9: .*line 3, signed at .*, covers seq 10 but the audit ends at seq 8/);

  const blind = verify(cut);
  assert.equal(blind.status, 0, 'a shortened chain is still a valid chain');
  assert.match(
    blind.stderr,
    /warning: no --checkpoints file: removal of the newest rows \(tail truncation\) cannot be detected/,
  );
});

test('truncation is also caught by a checkpoint row the attacker left in the database', () => {
  const cut = tampered(base, 'DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > 8;');
  const result = verify(cut);
  assert.equal(result.status, 4);
  assert.match(result.stdout, /^TRUNCATED at seq 9:/);
});

test('a chain rewritten with valid hashes diverges from the signed checkpoints: exit 5, after the last good one', () => {
  const copy = tampered(base, 'DROP TRIGGER events_no_update;');
  const db = new Database(copy.db);
  const rows = db.prepare(`SELECT ${columnNames.join(', ')} FROM events WHERE seq >= 6 ORDER BY seq`).all() as Record<
    string,
    unknown
  >[];
  let prev = db.prepare('SELECT hash FROM events WHERE seq = 5').pluck().get() as string;
  const update = db.prepare('UPDATE events SET user = ?, prev_hash = ?, hash = ? WHERE seq = ?');
  for (const row of rows) {
    const { prev_hash: _p, hash: _h, ...fields } = row;
    const user = row.seq === 6 ? 'mallory' : (row.user as string);
    const hash = chainHash(prev, { ...(fields as unknown as ChainedFields), user });
    update.run(user, prev, hash, row.seq);
    prev = hash;
  }
  db.close();
  assert.equal(verifyChain(copy.db).ok, true, 'the chain alone looks fine');
  const result = verifyWithFile(copy);
  assert.equal(result.status, 5, result.stdout);
  assert.match(
    result.stdout,
    /^DIVERGED at seq 5: .*holds another hash for seq 8: the chain was rewritten after seq 4/,
  );
});

test('checkpoint rows deleted from the database diverge from the checkpoint file: exit 5', () => {
  const copy = tampered(base, 'DROP TRIGGER checkpoints_no_delete; DELETE FROM checkpoints WHERE seq = 8;');
  const result = verifyWithFile(copy);
  assert.equal(result.status, 5);
  assert.match(
    result.stdout,
    /^DIVERGED at seq 8: .*line 2 \(seq 8\) is missing from the database's checkpoints table/,
  );
});

test('a checkpoint file line that is not a checkpoint: exit 3', () => {
  const copy = tampered(base, 'SELECT 1;');
  writeFileSync(copy.file, `${readFileSync(copy.file, 'utf8')}not json\n`);
  const result = verifyWithFile(copy);
  assert.equal(result.status, 3);
  assert.match(result.stdout, /^BAD CHECKPOINT: .*line 4 is not a checkpoint/);
});

test('key rotation: later checkpoints use the new key, older ones still verify with the retired key kept', () => {
  const log = newLog();
  append(log, 5, 4); // checkpoints at 4 and 5, first key
  const rotated = runMandate(['audit', 'rotate-checkpoint-key', '--key-dir', log.keyDir]);
  assert.equal(rotated.status, 0, rotated.stderr);
  const store = AuditStore.open(log.db);
  const checkpointer = Checkpointer.open(log.db, {
    everyEvents: 4,
    everySeconds: 3600,
    keyDir: log.keyDir,
    file: log.file,
  });
  for (let i = 0; i < 4; i++) checkpointer.committed(store.append(auditEvent()));
  checkpointer.close();
  store.close();

  const checkpoints = fileCheckpoints(log);
  assert.deepEqual(
    checkpoints.map((c) => c.seq),
    [4, 5, 9],
  );
  assert.notEqual(checkpoints[2]!.key_id, checkpoints[0]!.key_id);
  const published = JSON.parse(readFileSync(log.keys, 'utf8')).keys as { kid: string; retired?: string }[];
  assert.deepEqual(
    published.map((k) => [k.kid, k.retired !== undefined]),
    [
      [checkpoints[0]!.key_id, true],
      [checkpoints[2]!.key_id, false],
    ],
  );
  const result = verifyWithFile(log);
  assert.equal(result.status, 0, result.stdout + result.stderr);

  // An auditor holding only the new key cannot vouch for the old checkpoints.
  const onlyNew = join(log.dir, 'only-new.json');
  writeFileSync(onlyNew, JSON.stringify({ keys: [published[1]] }));
  assert.equal(runMandate(['audit', 'verify', '--db', log.db, '--keys', onlyNew, '--checkpoints', log.file]).status, 3);
});

test('a running writer picks up a rotated key at its next checkpoint', () => {
  const log = newLog();
  const store = AuditStore.open(log.db);
  const checkpointer = Checkpointer.open(log.db, {
    everyEvents: 1,
    everySeconds: 3600,
    keyDir: log.keyDir,
    file: log.file,
  });
  checkpointer.committed(store.append(auditEvent()));
  assert.equal(runMandate(['audit', 'rotate-checkpoint-key', '--key-dir', log.keyDir]).status, 0);
  checkpointer.committed(store.append(auditEvent()));
  checkpointer.close();
  store.close();
  const [first, second] = fileCheckpoints(log);
  assert.notEqual(first!.key_id, second!.key_id);
  assert.equal(verifyWithFile(log).status, 0);
});

test('usage errors and unreadable files: exit 2', () => {
  assert.equal(runMandate(['audit', 'rotate-checkpoint-key']).status, 2);
  assert.equal(verify(base, '--checkpoints', join(root, 'absent.jsonl')).status, 2);
  assert.equal(runMandate(['audit', 'verify', '--db', base.db, '--keys', join(root, 'absent.json')]).status, 2);
  const copy = join(root, 'copy.db');
  copyFileSync(base.db, copy);
  assert.equal(runMandate(['audit', 'verify', '--db', copy]).status, 0);
});

test('a checkpoint after an acknowledged batch signs its last row, not rows committed after it', () => {
  const log = newLog();
  const store = AuditStore.open(log.db);
  const checkpointer = Checkpointer.open(log.db, {
    everyEvents: 2,
    everySeconds: 3600,
    keyDir: log.keyDir,
    file: log.file,
  });
  store.append(auditEvent());
  const acknowledged = store.append(auditEvent());
  // Committed after the acknowledged batch: the checkpoint signs the head it was given, not the newest.
  store.append(auditEvent());
  checkpointer.committed(acknowledged);
  // Written at once, in the table and the file; the file's fsync left to libuv's pool.
  assert.deepEqual(
    fileCheckpoints(log).map((c) => [c.seq, c.hash]),
    [[2, acknowledged.hash]],
  );
  assert.deepEqual(storedCheckpoints(log), fileCheckpoints(log));
  checkpointer.close();
  store.close();
  assert.deepEqual(
    fileCheckpoints(log).map((c) => c.seq),
    [2, 3],
  );
  assert.equal(verifyWithFile(log).status, 0);
});
