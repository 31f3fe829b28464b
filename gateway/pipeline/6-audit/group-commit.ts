import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { MandateError } from '../../errors.ts';
import type { CheckpointOptions } from './checkpointer.ts';
import type { AuditEvent } from './event.ts';
import { toRow } from './row.ts';
import type { SegmentOptions } from './segment-rotation.ts';
import type { AuditStoreOptions } from './store.ts';

/** Where an event landed in the chain. */
export interface Committed {
  readonly seq: number;
}

interface Pending {
  readonly event: AuditEvent;
  resolve(committed: Committed): void;
  reject(error: unknown): void;
}

type Reply = { id: number; lastSeq?: number; writable?: boolean; error?: string; ready?: boolean };

/**
 * Group commit on a dedicated writer thread. Events are handed over once per turn of the event loop
 * (every event the turn produced, as one message; an outcome waits for the next such message, see
 * `appendRidingAlong`), and the writer commits everything that reached it while it was busy as one
 * transaction (writer-thread.ts). So the batch size follows the load by itself, the writer never
 * waits for this thread to send the next batch, SQLite work stays off the event loop, and each
 * caller's promise settles only after the commit that holds its event is as durable as configured:
 * "the decision is committed before the first byte goes upstream" holds per request. A failed commit
 * rejects all of its events (none was written, or its sync failed and the writer stops taking
 * writes), and a dead writer fails every append, so traffic stops (503) rather than going unaudited.
 */
export class AuditLog {
  readonly #worker: Worker;
  #queue: Pending[] = [];
  #handOverScheduled = false;
  #ridingAlong: Pending[] = [];
  #ridingAlongTimer: NodeJS.Timeout | undefined;
  #nextId = 1;
  #dead: string | undefined;
  readonly #replies = new Map<number, (reply: Reply) => void>();

  private constructor(worker: Worker) {
    this.#worker = worker;
    // The writer answers a commit of several hand-overs with one message listing a reply for each.
    worker.on('message', (message: Reply | Reply[]) => {
      for (const reply of Array.isArray(message) ? message : [message]) {
        const settle = this.#replies.get(reply.id);
        this.#replies.delete(reply.id);
        settle?.(reply);
      }
    });
    worker.on('error', (e) => this.#fail(`audit writer crashed: ${e.message}`));
    worker.on('exit', () => this.#fail('audit writer exited'));
  }

  /** Starts the writer thread and opens the store; throws MANDATE_AUDIT_UNAVAILABLE if it cannot. */
  static async open(
    file: string,
    options: AuditStoreOptions = {},
    checkpoint?: CheckpointOptions,
    segment?: SegmentOptions,
  ): Promise<AuditLog> {
    const worker = new Worker(new URL('./writer-thread.ts', import.meta.url), {
      workerData: { file, options, checkpoint, segment },
    });
    const [first] = (await once(worker, 'message')) as [Reply];
    if (first.error) {
      await worker.terminate();
      throw new MandateError('MANDATE_AUDIT_UNAVAILABLE', 'audit store cannot be opened', { cause: first.error });
    }
    return new AuditLog(worker);
  }

  /** Resolves once the event is committed; rejects with MANDATE_AUDIT_UNAVAILABLE otherwise. */
  append(event: AuditEvent): Promise<Committed> {
    return this.#enqueue(this.#queue, event, () => {
      if (this.#handOverScheduled) return;
      this.#handOverScheduled = true;
      // After this turn's I/O callbacks: one message carries every event they produced.
      setImmediate(this.#handOver);
    });
  }

  /**
   * Like `append`, for an event no request waits on: an outcome, written once its response has gone
   * out. It rides with the next hand-over of an event that does (a decision, a refusal) and shares its
   * commit — and at FULL its fsync — instead of paying for one of its own. Under load a quarter of the
   * commits held outcomes only, and half the hand-overs (each a wake-up of the writer thread). With no
   * such event to ride with (a quiet gateway), it is handed over alone within RIDE_ALONG_MS.
   */
  appendRidingAlong(event: AuditEvent): Promise<Committed> {
    return this.#enqueue(this.#ridingAlong, event, () => {
      this.#ridingAlongTimer ??= setTimeout(this.#handOver, RIDE_ALONG_MS);
    });
  }

  #enqueue(queue: Pending[], event: AuditEvent, schedule: () => void): Promise<Committed> {
    if (this.#dead) return Promise.reject(unavailable(this.#dead));
    return new Promise((resolve, reject) => {
      queue.push({ event, resolve, reject });
      schedule();
    });
  }

  /** For /readyz: whether the store takes writes right now. */
  async isWritable(): Promise<boolean> {
    if (this.#dead) return false;
    const reply = await this.#request({ probe: true });
    return reply.writable === true;
  }

  async close(): Promise<void> {
    if (this.#dead) return;
    this.#handOver();
    const exited = once(this.#worker, 'exit');
    this.#worker.postMessage({ close: true });
    await exited;
  }

  readonly #handOver = (): void => {
    this.#handOverScheduled = false;
    clearTimeout(this.#ridingAlongTimer);
    this.#ridingAlongTimer = undefined;
    // Riding events first: each was recorded after its own call's decision was committed, so the
    // chain keeps every call's decision before its outcome whatever the order here.
    const batch = this.#ridingAlong.length === 0 ? this.#queue : [...this.#ridingAlong, ...this.#queue];
    this.#queue = [];
    this.#ridingAlong = [];
    if (batch.length === 0) return;
    // One JSON string of rows in positional form (row.ts `toRow`) rather than structured-cloned
    // objects: V8's JSON is several times faster than the structured-clone serializer for these flat
    // values, on both threads (measured ≈ 3 µs less per event on each side), and it carries exactly
    // what the store hashes: the values already normalised, lone surrogates replaced, non-finite
    // numbers null. Arrays carry no column names, and the writer reads them slot by slot.
    this.#request({ rows: JSON.stringify(batch.map((p) => toRow(p.event))) }).then((reply) => {
      const lastSeq = reply.lastSeq;
      for (const [i, p] of batch.entries()) {
        if (lastSeq !== undefined) p.resolve({ seq: lastSeq - batch.length + 1 + i });
        else p.reject(unavailable(reply.error ?? 'audit write failed'));
      }
    });
  };

  #request(message: object): Promise<Reply> {
    if (this.#dead) return Promise.resolve({ id: 0, error: this.#dead });
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#replies.set(id, resolve);
      this.#worker.postMessage({ id, ...message });
    });
  }

  #fail(reason: string): void {
    this.#dead ??= reason;
    for (const settle of this.#replies.values()) settle({ id: 0, error: reason });
    this.#replies.clear();
    for (const p of [...this.#ridingAlong, ...this.#queue]) p.reject(unavailable(reason));
    this.#queue = [];
    this.#ridingAlong = [];
    clearTimeout(this.#ridingAlongTimer);
    this.#ridingAlongTimer = undefined;
  }
}

/**
 * The longest an event riding along waits for a hand-over to join. Under load one comes every turn of
 * the event loop; this only bounds the wait on a quiet gateway (and what a crash could lose of
 * outcomes, which are recorded after their responses anyway).
 */
const RIDE_ALONG_MS = 10;

const unavailable = (reason: string) =>
  new MandateError('MANDATE_AUDIT_UNAVAILABLE', 'audit event could not be written', { cause: reason });
