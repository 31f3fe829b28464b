/**
 * The audit writer thread: owns the SQLite connection, so commits (and the hashing of each event)
 * run beside the event loop instead of on it. Messages in: {id, events} to append as one
 * transaction (a JSON array), {id, probe: true} for readiness. Messages out: {id, lastSeq} (the seq of
 * the batch's last event; the batch's events hold the seqs before it, in order) or {id, error}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { log } from '../../telemetry/log.ts';
// Signed checkpoints (checkpointer.ts): the only checkpoint code here is the three hook calls below.
import { Checkpointer, type CheckpointOptions } from './checkpointer.ts';
import type { AuditEvent } from './event.ts';
// Segment rotation and retention (segment-rotation.ts): the "segment hook" lines below.
import { type SegmentOptions, SegmentRotation } from './segment-rotation.ts';
import { AuditStore, type AuditStoreOptions } from './store.ts';

const { file, options, checkpoint, segment } = workerData as {
  file: string;
  options: AuditStoreOptions;
  checkpoint?: CheckpointOptions;
  segment?: SegmentOptions;
};

let store: AuditStore | undefined;
let checkpoints: Checkpointer | undefined;
let rotation: SegmentRotation | undefined;
try {
  if (segment)
    ({ store, checkpoints } = startSegments(segment)); // segment hook: start
  else {
    store = AuditStore.open(file, options);
    if (checkpoint) checkpoints = Checkpointer.open(file, checkpoint); // checkpoint hook: start
  }
  parentPort!.postMessage({ id: 0, ready: true });
} catch (e) {
  parentPort!.postMessage({ id: 0, error: (e as Error).message });
}

parentPort!.on('message', (message: { id: number; events?: string; probe?: boolean; close?: boolean }) => {
  if (message.close) {
    rotation?.close(); // segment hook: stop the timer
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
    parentPort!.postMessage({ id: message.id, writable: store.isWritable() });
    return;
  }
  try {
    const stored = store.appendBatch(JSON.parse(message.events ?? '[]') as AuditEvent[]);
    parentPort!.postMessage({ id: message.id, lastSeq: stored.at(-1)?.seq });
    // checkpoint hook: after the reply, so no request waits for a signature.
    if (stored.length > 0) checkpoints?.committed(stored.at(-1)!.seq);
    if (stored.length > 0) rotateIfDue(stored[0]!.time); // segment hook: between batches
  } catch (e) {
    parentPort!.postMessage({ id: message.id, error: (e as Error).message });
  }
});

function startSegments(segmentOptions: SegmentOptions) {
  rotation = new SegmentRotation(file, segmentOptions, {
    store: () => AuditStore.open(file, options),
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
    ({ store, checkpoints } = rotation.rotate({ store, checkpoints }));
  } catch (e) {
    // The old file is closed and no new one opened: every append fails (503) until a restart.
    store = undefined;
    checkpoints = undefined;
    log.error({ err: e }, 'audit segment rotation failed; the audit store is closed');
  }
}
