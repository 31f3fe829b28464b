/**
 * The audit writer thread: owns the SQLite connection, so commits (and the hashing of each event)
 * run beside the event loop instead of on it. Messages in: {id, events} to append as one
 * transaction (a JSON array), {id, probe: true} for readiness. Messages out: {id, lastSeq} (the seq of
 * the batch's last event; the batch's events hold the seqs before it, in order) or {id, error}.
 */
import { parentPort, workerData } from 'node:worker_threads';
// Signed checkpoints (checkpointer.ts): the only checkpoint code here is the three hook calls below.
import { Checkpointer, type CheckpointOptions } from './checkpointer.ts';
import type { AuditEvent } from './event.ts';
import { AuditStore, type AuditStoreOptions } from './store.ts';

const { file, options, checkpoint } = workerData as {
  file: string;
  options: AuditStoreOptions;
  checkpoint?: CheckpointOptions;
};

let store: AuditStore | undefined;
let checkpoints: Checkpointer | undefined;
try {
  store = AuditStore.open(file, options);
  if (checkpoint) checkpoints = Checkpointer.open(file, checkpoint); // checkpoint hook: start
  parentPort!.postMessage({ id: 0, ready: true });
} catch (e) {
  parentPort!.postMessage({ id: 0, error: (e as Error).message });
}

parentPort!.on('message', (message: { id: number; events?: string; probe?: boolean; close?: boolean }) => {
  if (message.close) {
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
  } catch (e) {
    parentPort!.postMessage({ id: message.id, error: (e as Error).message });
  }
});
