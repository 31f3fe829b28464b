/**
 * Folds the audit WAL into the database file, beside the writer thread rather than inside one of
 * its commits. SQLite checkpoints from the commit that takes the WAL past `wal_autocheckpoint`:
 * that commit then copies a thousand pages and fsyncs both files while every request waiting for
 * it waits too (measured on the benchmark: a fifth more throughput at FULL without it). Here a
 * PASSIVE checkpoint runs every `intervalMs` on a connection of this thread's own, concurrently with
 * the writer's commits (SQLite lets one checkpointer and one writer work at once); the writer keeps
 * a high `wal_autocheckpoint` only as a backstop, should this thread fall behind or die.
 *
 * A fresh connection per checkpoint, because segment rotation replaces the file at `file`, and none
 * while the writer seals a segment (wal-fold-lock.ts), which needs the file to itself. The
 * connection's default `synchronous=FULL` syncs the WAL before copying and the database after, so
 * the WAL is never reset over pages that are not yet durable in the database file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { log } from '../../telemetry/log.ts';
import { WalFoldLock } from './wal-fold-lock.ts';

const { file, intervalMs, foldLock } = workerData as { file: string; intervalMs: number; foldLock: SharedArrayBuffer };
const lock = WalFoldLock.from(foldLock);

const timer = setInterval(() => {
  // A segment being sealed: its seal folds the WAL itself, and needs the file to itself.
  if (!lock.tryAcquire()) return;
  try {
    const db = new Database(file, { fileMustExist: true, timeout: intervalMs });
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } finally {
      db.close();
    }
  } catch (e) {
    // Busy or gone for a moment (rotation): the next tick tries again, and the backstop remains.
    log.warn({ err: e }, 'audit WAL checkpoint failed');
  } finally {
    lock.release();
  }
}, intervalMs);

parentPort!.on('message', (message: { close?: boolean }) => {
  if (!message.close) return;
  clearInterval(timer);
  parentPort!.close();
});
