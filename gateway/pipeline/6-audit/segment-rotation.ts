import Database from 'better-sqlite3';
import { log } from '../../telemetry/log.ts';
import type { Checkpointer } from './checkpointer.ts';
import { overEventTables } from './recent-events.ts';
import { applyRetention, type RetentionOptions } from './retention.ts';
import { allowAppends, continueChain, refuseAppends, sealInto } from './seal.ts';
import { listSegments } from './segments.ts';
import type { AuditStore } from './store.ts';

/** `gateway.audit_segment`, as the writer thread takes it. */
export interface SegmentOptions {
  readonly maxBytes?: number;
  readonly maxAgeSeconds?: number;
  readonly retention?: RetentionOptions;
}

/** The writer thread's handles on the active file, replaced at each rotation. */
export interface ActiveFile {
  readonly store: AuditStore;
  readonly checkpoints: Checkpointer | undefined;
}

/** How long sealing waits for readers to let go of the file before trying again later. */
const SEAL_BUSY_TIMEOUT_MS = 100;
const RETRY_AFTER_MS = 10_000;

/**
 * Rotation of the active audit database into sealed segments, and retention, run by the audit writer
 * thread between batches — where no append is in flight, so no event is lost or reordered, and the
 * next batch waits only for the seal (a WAL fold and a rename). See README "Segments and retention".
 *
 * A rotation: appends refused on the old file (seal.ts), a last signed checkpoint of its final row,
 * the connections closed, the file sealed and renamed `audit-<first>-<last>.db`, then a fresh active
 * file whose `chain_start` is the segment's last seq and hash, so seq and the hash chain continue.
 */
export class SegmentRotation {
  readonly #file: string;
  readonly #options: SegmentOptions;
  readonly #openStore: () => AuditStore;
  readonly #openCheckpointer: () => Checkpointer | undefined;
  readonly #now: () => Date;
  /** Time of the active file's first event (undefined while it has none). */
  #firstEventMs: number | undefined;
  #retryAtMs = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    file: string,
    options: SegmentOptions,
    open: { store: () => AuditStore; checkpointer: () => Checkpointer | undefined },
    now: () => Date = () => new Date(),
  ) {
    this.#file = file;
    this.#options = options;
    this.#openStore = open.store;
    this.#openCheckpointer = open.checkpointer;
    this.#now = now;
  }

  /**
   * Opens the active file — continuing the newest segment's chain if it is new (first start, or a
   * crash right after a seal) — and applies retention once.
   */
  start(): ActiveFile {
    const active = this.#openActive();
    this.#retain(active.store);
    return active;
  }

  /** Checks again every `everyMs` (age limits must apply to an idle gateway too). */
  checkEvery(check: () => void): void {
    const ages = [this.#options.maxAgeSeconds, this.#options.retention?.maxAgeSeconds].filter((s) => s !== undefined);
    if (ages.length === 0) return;
    this.#timer = setInterval(check, Math.min(60_000, ...ages.map((s) => s * 1000)));
    this.#timer.unref();
  }

  /** After a committed batch (the time of its first event) or on the timer: whether to rotate now. */
  isDue(store: AuditStore, batchFirstTime?: string): boolean {
    if (batchFirstTime !== undefined) this.#firstEventMs ??= Date.parse(batchFirstTime);
    if (this.#firstEventMs === undefined) return false; // never seal an empty file
    const now = this.#now().getTime();
    if (now < this.#retryAtMs) return false;
    const { maxBytes, maxAgeSeconds } = this.#options;
    return (
      (maxBytes !== undefined && store.sizeBytes() >= maxBytes) ||
      (maxAgeSeconds !== undefined && now - this.#firstEventMs >= maxAgeSeconds * 1000)
    );
  }

  /**
   * Seals the active file and returns the handles on the new one. If the seal cannot be completed (a
   * reader holds the file), the file stays active and the next attempt is 10 s later; if the new file
   * cannot be opened, this throws and the writer fails closed like any failed open.
   */
  rotate(active: ActiveFile): ActiveFile {
    refuseAppends(this.#file);
    active.checkpoints?.close(); // a last signed checkpoint, of the segment's final row
    active.store.close();
    try {
      const segment = sealInto(this.#file, SEAL_BUSY_TIMEOUT_MS);
      log.info({ segment }, 'audit segment sealed');
    } catch (e) {
      log.warn({ err: e }, 'audit segment rotation postponed');
      allowAppends(this.#file);
      this.#retryAtMs = this.#now().getTime() + RETRY_AFTER_MS;
      return { store: this.#openStore(), checkpoints: this.#openCheckpointer() };
    }
    const next = this.#openActive();
    this.#retain(next.store);
    return next;
  }

  /** Applies retention (on the timer). */
  retain(store: AuditStore): void {
    this.#retain(store);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #openActive(): ActiveFile {
    const store = this.#openStore(); // creates the file and its schema
    // Before the first append and before the checkpointer reads where the chain starts.
    continueChain(this.#file, listSegments(this.#file).at(-1)?.file);
    this.#firstEventMs = firstEventMs(this.#file);
    return { store, checkpoints: this.#openCheckpointer() };
  }

  #retain(store: AuditStore): void {
    const retention = this.#options.retention;
    if (retention === undefined) return;
    try {
      const removals = applyRetention(this.#file, retention, (event) => store.append(event), this.#now());
      for (const r of removals) log.info({ segment: r.segment, rule: r.rule }, 'audit segment removed by retention');
    } catch (e) {
      log.error({ err: e }, 'audit retention failed');
    }
  }
}

function firstEventMs(file: string): number | undefined {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const oldest = overEventTables(
      db,
      (table) => `SELECT seq, time FROM ${table} ORDER BY seq LIMIT 1`,
      'ORDER BY seq LIMIT 1',
    );
    const time = db.prepare(`SELECT time FROM (${oldest})`).pluck().get() as string | undefined;
    return time === undefined ? undefined : Date.parse(time);
  } finally {
    db.close();
  }
}
