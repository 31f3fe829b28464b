/**
 * The audit writer thread: owns the SQLite connection, so commits (and the hashing of each event)
 * run beside the event loop instead of on it. Messages in: {id, events} to append as one
 * transaction (a JSON array), {id, probe: true} for readiness. Messages out: {id, lastSeq} (the seq of
 * the batch's last event; the batch's events hold the seqs before it, in order) or {id, error}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AuditEvent } from './event.ts';
import { AuditStore, type AuditStoreOptions } from './store.ts';

const { file, options } = workerData as { file: string; options: AuditStoreOptions };

let store: AuditStore | undefined;
try {
  store = AuditStore.open(file, options);
  parentPort!.postMessage({ id: 0, ready: true });
} catch (e) {
  parentPort!.postMessage({ id: 0, error: (e as Error).message });
}

parentPort!.on('message', (message: { id: number; events?: string; probe?: boolean; close?: boolean }) => {
  if (message.close) {
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
  } catch (e) {
    parentPort!.postMessage({ id: message.id, error: (e as Error).message });
  }
});
