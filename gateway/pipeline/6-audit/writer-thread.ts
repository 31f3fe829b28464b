/**
 * The audit writer thread: owns the SQLite connection, so commits (and the hashing of each event)
 * run beside the event loop instead of on it. Messages in: {id, rows} (a JSON array of row.ts
 * `RowValues`) to append,
 * {id, probe: true} for readiness. Messages out: for a probe {id, writable}; for appends, once they
 * are as durable as configured, one array with {id, lastSeq} (the seq of that hand-over's last
 * event; its events hold the seqs before it, in order) or {id, error} per hand-over committed.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { log } from '../../telemetry/log.ts';
// Signed checkpoints (checkpointer.ts): the only checkpoint code here is the three hook calls below.
import { Checkpointer, type CheckpointOptions } from './checkpointer.ts';
import type { ChainHead } from './head.ts';
import { ROW, type RowValues } from './row.ts';
// Segment rotation and retention (segment-rotation.ts): the "segment hook" lines below.
import { type SegmentOptions, SegmentRotation } from './segment-rotation.ts';
import { AuditStore, type AuditStoreOptions } from './store.ts';
import { WalFoldLock } from './wal-fold-lock.ts';
import { WalSync } from './wal-sync.ts';

const { file, options, checkpoint, segment } = workerData as {
  file: string;
  options: AuditStoreOptions;
  checkpoint?: CheckpointOptions;
  segment?: SegmentOptions;
};

// FULL durability is SQLite's NORMAL plus an fsync of the WAL on this thread right after each
// commit, before its acknowledgement (wal-sync.ts says why not SQLite's own FULL). Not on libuv's
// pool beside the next commit, as it was: each fsync then cost two more thread wake-ups (this thread
// to the pool's, and back) on the path of every waiting request, measured side by side at 7–8% of
// the throughput and 20–28 µs of CPU per call. Hand-overs that arrive during an fsync join the next
// commit. NORMAL acknowledges at commit.
const syncedHere = options.durability !== 'normal';
// WAL checkpoints run on a thread of their own (wal-checkpoint-thread.ts); 10,000 pages (40 MB) is
// the backstop at which a commit here would still take one.
const storeOptions: AuditStoreOptions = { ...options, durability: 'normal', walAutocheckpointPages: 10_000 };
const WAL_CHECKPOINT_EVERY_MS = 250;
// Held by the checkpoint thread while it checkpoints, and by this thread while it seals a segment.
const walFoldLock = WalFoldLock.create();
// How long a seal waits for a checkpoint in progress before it goes ahead (and, should that
// checkpoint still hold the file, is postponed).
const SEAL_WAITS_FOR_CHECKPOINT_MS = 2000;
// Appends land in recent_events, unindexed; this often, between batches, they move into the indexed
// events table (recent-events.ts). Longer means fewer index pages per event and more rows for an
// auditor to find in recent_events. A fold moves at most FOLD_MAX_ROWS per transaction, the rest
// after the hand-overs that arrived meanwhile: a row costs 6–30 µs to fold (one user's calls, or
// varied users, resources and trace ids), so a waiting decision is held up by 2–8 ms at most.
const FOLD_EVERY_MS = 100;
const FOLD_MAX_ROWS = 256;

let store: AuditStore | undefined;
let walSync: WalSync | undefined;
let checkpoints: Checkpointer | undefined;
let rotation: SegmentRotation | undefined;
let walCheckpoints: Worker | undefined;
let foldTimer: NodeJS.Timeout | undefined;
try {
  if (segment)
    ({ store, checkpoints } = startSegments(segment)); // segment hook: start
  else {
    store = AuditStore.open(file, storeOptions);
    if (checkpoint) checkpoints = Checkpointer.open(file, checkpoint); // checkpoint hook: start
  }
  if (syncedHere) walSync = WalSync.open(file);
  walCheckpoints = new Worker(new URL('./wal-checkpoint-thread.ts', import.meta.url), {
    workerData: { file, intervalMs: WAL_CHECKPOINT_EVERY_MS, foldLock: walFoldLock.shared },
  });
  walCheckpoints.unref();
  foldTimer = setInterval(foldRecent, FOLD_EVERY_MS);
  parentPort!.postMessage({ id: 0, ready: true });
} catch (e) {
  parentPort!.postMessage({ id: 0, error: (e as Error).message });
}

/**
 * Hand-overs that reached this thread while it was committing. Node delivers every message waiting
 * on the port in one go, so by the time this turn's `setImmediate` runs they are all here: they are
 * committed together, one transaction (and at FULL one fsync) for as many requests as came in.
 */
let handedOver: { id: number; rows: RowValues[] }[] = [];

parentPort!.on('message', (message: { id: number; rows?: string; probe?: boolean; close?: boolean }) => {
  if (message.close) {
    if (handedOver.length > 0) commitHandedOver();
    clearInterval(foldTimer);
    walCheckpoints?.postMessage({ close: true });
    rotation?.close(); // segment hook: stop the timer
    closeWalSync();
    checkpoints?.close(); // checkpoint hook: cover the tail on a clean shutdown
    store?.close();
    parentPort!.close();
    return;
  }
  if (!store) {
    parentPort!.postMessage({ id: message.id, error: 'audit store is not open' });
    return;
  }
  if (message.probe) {
    parentPort!.postMessage({ id: message.id, writable: probe() });
    return;
  }
  handedOver.push({ id: message.id, rows: JSON.parse(message.rows ?? '[]') as RowValues[] });
  if (handedOver.length === 1) setImmediate(commitHandedOver);
});

function commitHandedOver(): void {
  const group = handedOver;
  handedOver = [];
  if (!store) {
    parentPort!.postMessage(group.map(({ id }) => ({ id, error: 'audit store is not open' })));
    return;
  }
  let replies: { id: number; lastSeq: number | undefined }[];
  let firstTime: string | undefined;
  let last: ChainHead | undefined;
  try {
    const rows = group.flatMap((h) => h.rows);
    const head = store.appendRows(rows);
    // The store numbers the rows in order: each hand-over's last seq follows from the counts.
    let seq = head.seq - rows.length;
    replies = group.map((h) => {
      seq += h.rows.length;
      return { id: h.id, lastSeq: h.rows.length > 0 ? seq : undefined };
    });
    if (rows.length > 0) {
      firstTime = rows[0]![ROW.time] as string;
      last = head;
    }
  } catch (e) {
    parentPort!.postMessage(group.map(({ id }) => ({ id, error: (e as Error).message })));
    return;
  }
  if (!syncCommitted(group)) return;
  parentPort!.postMessage(replies);
  // checkpoint hook: after the reply, so no request waits for a signature.
  if (last) checkpoints?.committed(last);
  if (last) rotateIfDue(firstTime); // segment hook: between batches
}

/**
 * Moves recent events into the indexed table, FOLD_MAX_ROWS at a time; when more are left, again
 * after the hand-overs waiting by then. A failed fold moves nothing: the rows stay in recent_events,
 * still in the chain and found by every reader, for the next one.
 */
function foldRecent(): void {
  if (!store) return;
  try {
    if (store.foldRecent(FOLD_MAX_ROWS, { waitForLock: false }) === FOLD_MAX_ROWS) setImmediate(foldRecent);
  } catch (e) {
    // Another connection writing (a `mandate revoke`, a seal): the next tick tries again.
    if ((e as { code?: string }).code === 'SQLITE_BUSY') return;
    log.warn({ err: e }, 'audit recent events not folded; retrying');
  }
}

/**
 * For /readyz: whether an append would be acknowledged right now. At FULL that takes an fsync as
 * well as a commit: a disk that takes writes but cannot make them durable (an I/O error on sync)
 * would refuse every call, so the probe syncs too, and a failure closes the store as a call's would.
 */
function probe(): boolean {
  return store?.isWritable() === true && syncCommitted([]);
}

/**
 * At FULL, fsyncs the WAL over what was just committed; true once it is durable (at NORMAL, at once).
 * False when the fsync failed: `group`'s hand-overs are refused and the store is closed (syncFailed).
 */
function syncCommitted(group: readonly { id: number }[]): boolean {
  if (!walSync) return true;
  try {
    walSync.syncNow();
    return true;
  } catch (e) {
    syncFailed(group, e as Error);
    return false;
  }
}

/**
 * An fsync failed: whatever was committed since the last good one may not be on disk, and Linux may
 * report the next fsync as a success regardless. The batch is refused, and so is every later one
 * (503) until a restart reopens the store and SQLite recovers the WAL's valid prefix.
 */
function syncFailed(group: readonly { id: number }[], error: Error): void {
  if (group.length > 0)
    parentPort!.postMessage(group.map(({ id }) => ({ id, error: `audit WAL sync failed: ${error.message}` })));
  if (!store) return;
  log.error({ err: error }, 'audit WAL fsync failed; the audit store is closed');
  closeWalSync();
  try {
    store.close();
  } catch {}
  store = undefined;
}

function closeWalSync(): void {
  const closing = walSync;
  walSync = undefined;
  try {
    closing?.close();
  } catch (e) {
    log.error({ err: e }, 'audit WAL fsync failed on close');
  }
}

function startSegments(segmentOptions: SegmentOptions) {
  rotation = new SegmentRotation(file, segmentOptions, {
    store: () => AuditStore.open(file, storeOptions),
    checkpointer: () => (checkpoint ? Checkpointer.open(file, checkpoint) : undefined),
  });
  rotation.checkEvery(() => {
    rotateIfDue();
    if (store) rotation!.retain(store);
  });
  return rotation.start();
}

/** Seals the active file when it is due; runs after a batch's reply, so it delays only the next batch. */
function rotateIfDue(batchFirstTime?: string): void {
  if (!rotation || !store || !rotation.isDue(store, batchFirstTime)) return;
  try {
    // The sealed file's commits are synced and acknowledged before it is sealed (a failed fsync throws:
    // no rotation); the new file gets its own sync.
    const sealing = walSync;
    walSync = undefined;
    sealing?.close();
    const locked = walFoldLock.acquire(SEAL_WAITS_FOR_CHECKPOINT_MS);
    try {
      ({ store, checkpoints } = rotation.rotate({ store, checkpoints }));
    } finally {
      if (locked) walFoldLock.release();
    }
    if (syncedHere) walSync = WalSync.open(file);
  } catch (e) {
    // The old file is closed and no new one opened: every append fails (503) until a restart.
    store = undefined;
    checkpoints = undefined;
    log.error({ err: e }, 'audit segment rotation failed; the audit store is closed');
  }
}
