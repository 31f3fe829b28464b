import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type Database from 'better-sqlite3';
import { openStateDb } from '../../../gateway/state/open-state-db.ts';
import { tempDir } from '../../temp-dir.ts';

const schema = 'CREATE TABLE IF NOT EXISTS things (id INTEGER PRIMARY KEY) STRICT;';

test('creates the folder and the file, in WAL with FULL sync, with the schema applied before build', () => {
  const file = join(tempDir('mandate-state-'), 'nested', 'deeper', 'state.db');
  const db = openStateDb(file, schema, (db) => {
    // build sees the schema already there: it prepares statements against it.
    db.prepare('INSERT INTO things (id) VALUES (1)').run();
    return db;
  });
  try {
    assert.ok(existsSync(file));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 2); // FULL
    assert.equal(db.prepare('SELECT count(*) FROM things').pluck().get(), 1);
  } finally {
    db.close();
  }
});

test('a failing build closes the connection and rethrows its error', () => {
  const file = join(tempDir('mandate-state-'), 'state.db');
  let seen: Database.Database | undefined;
  assert.throws(
    () =>
      openStateDb(file, schema, (db) => {
        seen = db;
        db.prepare('SELECT nope FROM things');
      }),
    /no such column: nope/,
  );
  assert.equal(seen?.open, false);
});

test('a schema the file cannot take closes the connection and throws', () => {
  const file = join(tempDir('mandate-state-'), 'state.db');
  let built = false;
  assert.throws(() =>
    openStateDb(file, 'CREATE TABLE broken (', () => {
      built = true;
    }),
  );
  assert.equal(built, false);
  // Nothing holds the file: it opens again at once, with a good schema.
  openStateDb(file, schema, (db) => db).close();
});

test('two stores share one file, each with its own tables', () => {
  const file = join(tempDir('mandate-state-'), 'state.db');
  const a = openStateDb(file, 'CREATE TABLE IF NOT EXISTS a (x INTEGER) STRICT;', (db) => db);
  const b = openStateDb(file, 'CREATE TABLE IF NOT EXISTS b (y INTEGER) STRICT;', (db) => db);
  try {
    const tables = a.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    assert.deepEqual(tables, ['a', 'b']);
  } finally {
    a.close();
    b.close();
  }
});
