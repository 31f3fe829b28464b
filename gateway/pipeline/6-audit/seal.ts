import { chmodSync, closeSync, fsyncSync, openSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type ChainHead, readChainHead, readChainStart } from './head.ts';
import { overEventTables, RECENT_EVENTS } from './recent-events.ts';
import { segmentFile } from './segments.ts';

/**
 * Installs a trigger refusing every further event in the active file. Taken first when sealing, in
 * a write transaction of its own: a connection that opened the file earlier (a `mandate revoke`
 * appending from another process) can then never add a row to a sealed segment; its append fails
 * and, run again, lands in the new active file. On `recent_events`, where appends land: the store's
 * close still moves what is there into `events` before the seal.
 */
export function refuseAppends(file: string): void {
  withConnection(file, (db) =>
    db.exec(`CREATE TRIGGER IF NOT EXISTS ${RECENT_EVENTS}_sealed BEFORE INSERT ON ${RECENT_EVENTS}
BEGIN SELECT RAISE(ABORT, 'this audit segment is sealed'); END;`),
  );
}

/** Undoes `refuseAppends` when a seal could not be completed: the file stays the active one. */
export function allowAppends(file: string): void {
  withConnection(file, (db) => db.exec(`DROP TRIGGER IF EXISTS ${RECENT_EVENTS}_sealed`));
}

/** The file's chain start and head: what a sealed segment holds. */
export function readRange(file: string): { start: ChainHead; head: ChainHead } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return { start: readChainStart(db), head: readChainHead(db) };
  } finally {
    db.close();
  }
}

/**
 * Turns the closed active database into a sealed segment: WAL folded into the file and switched off
 * (a sealed segment is one self-contained file, readable by any SQLite client, even on read-only
 * storage), renamed after its seqs in the same folder (an atomic rename), the folder fsynced so the
 * rename survives a power loss, and the file made read-only. Returns the segment's path.
 *
 * Leaving WAL mode needs the only connection to the file, so it fails (SQLITE_BUSY after
 * `busyTimeoutMs`) while any reader holds the file open; the caller then keeps the file active and
 * tries again later. A crash after the rename leaves no active file: the next start creates one that
 * continues the newest segment's chain (continueChain).
 */
export function sealInto(file: string, busyTimeoutMs: number): string {
  const db = new Database(file, { fileMustExist: true, timeout: busyTimeoutMs });
  let range: { start: ChainHead; head: ChainHead };
  try {
    // A segment keeps every event in `events`: the store's close folded them; if it could not, no seal.
    if (db.prepare(`SELECT 1 FROM ${RECENT_EVENTS} LIMIT 1`).get())
      throw new Error('recent events are still to be folded into events');
    const [checkpointed] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (checkpointed?.busy !== 0) throw new Error('the WAL could not be folded into the file (a reader holds it)');
    const mode = db.pragma('journal_mode = DELETE', { simple: true });
    if (mode !== 'delete') throw new Error(`the file stays in ${String(mode)} mode (a reader holds it)`);
    range = { start: readChainStart(db), head: readChainHead(db) };
  } finally {
    db.close();
  }
  const target = segmentFile(file, range.start.seq + 1, range.head.seq);
  renameSync(file, target);
  fsyncFolder(dirname(target));
  chmodSync(target, 0o444);
  return target;
}

/**
 * Makes a new, empty active file continue the newest sealed segment's chain by recording that
 * segment's last seq and hash in `chain_start` (the store's appends then start from there). Does
 * nothing for a file that already holds events or a start, or when there is no segment.
 */
export function continueChain(file: string, newestSegment: string | undefined): void {
  if (newestSegment === undefined) return;
  withConnection(file, (db) => {
    db.transaction(() => {
      const hasEvents = db.prepare(overEventTables(db, (table) => `SELECT 1 FROM ${table} LIMIT 1`)).get();
      const hasStart = db.prepare('SELECT 1 FROM chain_start LIMIT 1').get();
      if (hasEvents || hasStart) return;
      const { head } = readRange(newestSegment);
      db.prepare('INSERT INTO chain_start (seq, hash) VALUES (?, ?)').run(head.seq, head.hash);
    }).immediate();
  });
}

function withConnection(file: string, use: (db: Database.Database) => void): void {
  const db = new Database(file, { fileMustExist: true, timeout: 2000 });
  try {
    use(db);
  } finally {
    db.close();
  }
}

function fsyncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
