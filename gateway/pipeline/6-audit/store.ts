import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { MandateError } from '../../errors.ts';
import { GENESIS_HASH, rowChainHash } from './chain.ts';
import type { AuditEvent, StoredEvent } from './event.ts';
import type { ChainHead } from './head.ts';
import { RECENT_EVENTS } from './recent-events.ts';
import { ROW, type RowValues, rowColumns, toRow } from './row.ts';
import { columnNames, schemaSql } from './schema.ts';
import { writeProbeSql } from './write-probe.ts';

export interface AuditStoreOptions {
  /**
   * How long an append waits for another connection's write lock before failing (the request then
   * fails closed with 503). The wait is synchronous: it blocks the event loop, so keep it short.
   * Default 2000 ms.
   */
  readonly busyTimeoutMs?: number;
  /** See `gateway.audit_durability`. Default `full`. */
  readonly durability?: AuditDurability;
  /**
   * WAL size, in pages, at which a commit folds the WAL into the database file itself (SQLite's
   * `wal_autocheckpoint`, default 1000). The gateway's writer leaves that to a thread of its own
   * (wal-checkpoint-thread.ts) and keeps this only as a backstop.
   */
  readonly walAutocheckpointPages?: number;
}

export type AuditDurability = 'full' | 'normal';

/** Rows per transaction when folding everything (at open and close). */
const FOLD_ALL_ROWS = 10_000;

/**
 * The append-only, hash-chained audit trail in one SQLite file, one row per event: appended to
 * `recent_events`, moved into the indexed `events` by `foldRecent` (recent-events.ts).
 *
 * Mandate never UPDATEs a row or DELETEs one other than by that move, and triggers refuse both.
 * Appends are synchronous so the pipeline can commit the decision event before the first byte goes
 * upstream.
 */
export class AuditStore {
  readonly #db: Database.Database;
  readonly #appendInTransaction: Database.Transaction<(rows: readonly RowValues[]) => ChainHead>;
  readonly #beginImmediate: Database.Statement;
  readonly #rollback: Database.Statement;
  readonly #probeWrite: Database.Statement;
  readonly #pageCount: Database.Statement<[], number>;
  readonly #pageSize: number;
  readonly #fold: Database.Transaction<(maxRows: number) => number>;

  private constructor(db: Database.Database) {
    this.#db = db;
    // Newest first: the head is in recent_events unless everything has been folded.
    const readRecentHead = db
      .prepare<[], [number, string]>(`SELECT seq, hash FROM ${RECENT_EVENTS} ORDER BY seq DESC LIMIT 1`)
      .raw();
    const readHead = db.prepare<[], [number, string]>('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').raw();
    // An empty file started by a segment rotation continues the sealed segment's chain (segment-rotation.ts).
    const readStart = db.prepare<[], [number, string]>('SELECT seq, hash FROM chain_start LIMIT 1').raw();
    // Each row is bound as it was handed over, a `RowValues` (row.ts), `?` for `?`: better-sqlite3
    // binds an array positionally, where named parameters cost a lookup in an object per column.
    const insert = db.prepare(
      `INSERT INTO ${RECENT_EVENTS} (${rowColumns.join(', ')}) VALUES (${rowColumns.map(() => '?').join(', ')})`,
    );
    // The chain head is read inside the write transaction, never cached: it costs one rowid lookup,
    // and in exchange a second process appending to the same file (BEGIN IMMEDIATE serialises the
    // writers) cannot make us fork the chain, and a failed append cannot leave a stale head behind.
    this.#appendInTransaction = db.transaction((rows: readonly RowValues[]): ChainHead => {
      let [seq, prevHash] = readRecentHead.get() ?? readHead.get() ?? readStart.get() ?? [0, GENESIS_HASH];
      for (const row of rows) {
        row[ROW.seq] = ++seq;
        row[ROW.prevHash] = prevHash;
        prevHash = rowChainHash(prevHash, row);
        row[ROW.hash] = prevHash;
        insert.run(row);
      }
      return { seq, hash: prevHash };
    });
    this.#beginImmediate = db.prepare('BEGIN IMMEDIATE');
    this.#rollback = db.prepare('ROLLBACK');
    this.#probeWrite = db.prepare(
      'INSERT INTO write_probe (id, time) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET time = excluded.time',
    );
    this.#pageCount = db.prepare<[], number>('PRAGMA page_count').pluck();
    this.#pageSize = db.pragma('page_size', { simple: true }) as number;
    const lastOfOldest = db
      .prepare<[number], number | null>(`SELECT max(seq) FROM (SELECT seq FROM ${RECENT_EVENTS} ORDER BY seq LIMIT ?)`)
      .pluck();
    const columns = columnNames.join(', ');
    const copy = db.prepare(`INSERT INTO events (${columns}) SELECT ${columns} FROM ${RECENT_EVENTS} WHERE seq <= ?`);
    const remove = db.prepare(`DELETE FROM ${RECENT_EVENTS} WHERE seq <= ?`);
    this.#fold = db.transaction((maxRows: number): number => {
      const upTo = lastOfOldest.get(maxRows);
      if (upTo === null || upTo === undefined) return 0;
      copy.run(upTo);
      return remove.run(upTo).changes;
    });
  }

  /**
   * Opens (creating if needed) the audit database at `file`, its parent folder and its schema.
   * Throws `MANDATE_AUDIT_UNAVAILABLE` if the file cannot be opened or initialised.
   */
  static open(file: string, options: AuditStoreOptions = {}): AuditStore {
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(resolve(file)), { recursive: true });
      db = new Database(file, { timeout: options.busyTimeoutMs ?? 2000 });
      // WAL: readers (`mandate audit query`, `verify`) never block the gateway's appends.
      db.pragma('journal_mode = WAL');
      if (options.walAutocheckpointPages !== undefined)
        db.pragma(`wal_autocheckpoint = ${Math.trunc(options.walAutocheckpointPages)}`);
      // FULL fsyncs the WAL at every commit: a decision that was committed, and so let a request
      // through, survives power loss. Group commit (group-commit.ts) makes that one fsync per batch
      // of concurrent requests, not one per request. NORMAL skips the per-commit fsync: it survives a
      // gateway crash, and a power loss can drop the last commits (a valid prefix of the chain remains).
      db.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
      // Statement journals in memory. A statement inside a transaction keeps the pages it changes in
      // one, in case it must be undone alone, and past 64 KiB SQLite spills it to a temporary file: a
      // fold of 256 rows did, paying a pwrite per page. Measured on the store alone (bench traffic, 18
      // events per commit): 18% fewer pwrites, 4–6% less CPU per event.
      db.pragma('temp_store = MEMORY');
      // One transaction: each DDL statement on its own would write the schema's pages to the WAL
      // again (the view definitions span several), and a crash could leave half a schema.
      const created = db;
      created
        .transaction(() => {
          created.exec(schemaSql);
          created.exec(writeProbeSql);
        })
        .immediate();
      assertCurrentSchema(db, file);
      const store = new AuditStore(db);
      // What a crash left in recent_events (a clean close leaves nothing).
      store.foldAll();
      return store;
    } catch (cause) {
      db?.close();
      throw new MandateError('MANDATE_AUDIT_UNAVAILABLE', 'audit store cannot be opened', { cause });
    }
  }

  /**
   * Appends one event as the next link of the chain and returns it with `seq`, `prevHash` and `hash`.
   * On any failure (lock timeout, disk full, closed store…) nothing is written, the chain head stays
   * where it was, and `MANDATE_AUDIT_UNAVAILABLE` is thrown: the caller must not forward the request.
   */
  append(event: AuditEvent): StoredEvent {
    return this.appendBatch([event])[0]!;
  }

  /**
   * Appends several events, in order, in one transaction: all are committed or none is. One commit
   * for many events is what makes group commit cheap (see group-commit.ts).
   */
  appendBatch(events: readonly AuditEvent[]): StoredEvent[] {
    const rows = events.map(toRow);
    this.appendRows(rows);
    return events.map((event, i) => ({
      ...event,
      seq: rows[i]![ROW.seq] as number,
      prevHash: rows[i]![ROW.prevHash] as string,
      hash: rows[i]![ROW.hash] as string,
    }));
  }

  /**
   * `appendBatch` for rows already in positional form (row.ts `toRow`), as the audit writer receives
   * them: fills in each row's `seq`, `prev_hash` and `hash`, and returns the new head of the chain.
   */
  appendRows(rows: readonly RowValues[]): ChainHead {
    try {
      // IMMEDIATE takes the write lock before the head is read: see the constructor.
      return this.#appendInTransaction.immediate(rows);
    } catch (cause) {
      throw new MandateError('MANDATE_AUDIT_UNAVAILABLE', 'audit event could not be written', { cause });
    }
  }

  /**
   * For /readyz: whether a commit succeeds right now. Taking the write lock alone is not enough — a
   * full disk, a file-size limit or a read-only mount only fail when pages are written — so this
   * commits a real write, outside the chain: the one row of `write_probe` (the time of the last
   * probe). Like an append, it may wait up to the busy timeout for another connection's lock, and at
   * `synchronous=FULL` it costs one fsync.
   */
  isWritable(): boolean {
    if (!this.#db.open) return false;
    try {
      this.#beginImmediate.run();
      this.#probeWrite.run(new Date().toISOString());
      this.#db.exec('COMMIT');
      return true;
    } catch {
      return false;
    } finally {
      if (this.#db.inTransaction) this.#rollback.run();
    }
  }

  /** Size of the database in bytes (pages in use, the WAL's included), for segment rotation. */
  sizeBytes(): number {
    return this.#pageCount.get()! * this.#pageSize;
  }

  /**
   * Moves the oldest `maxRows` recent events (at most) into `events`, in one transaction taken at
   * once, like an append; returns how many moved. A failure moves nothing and is thrown: the rows
   * stay in `recent_events`, still in the chain, for the next fold. `waitForLock: false` (the
   * writer's periodic folds) throws SQLITE_BUSY at once when another connection holds the write lock,
   * instead of waiting the busy timeout: nothing waits on a fold, and every append handed over
   * meanwhile would wait behind it, fold after fold.
   */
  foldRecent(maxRows: number, { waitForLock = true } = {}): number {
    if (waitForLock) return this.#fold.immediate(maxRows);
    const busyTimeoutMs = this.#db.pragma('busy_timeout', { simple: true }) as number;
    this.#db.pragma('busy_timeout = 0');
    try {
      return this.#fold.immediate(maxRows);
    } finally {
      this.#db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    }
  }

  /** Moves every recent event into `events`, `rowsPerTransaction` at a time. */
  foldAll(rowsPerTransaction = FOLD_ALL_ROWS): void {
    while (this.foldRecent(rowsPerTransaction) > 0);
  }

  /**
   * Folds what is recent, so a stopped gateway's file holds every event in `events`, then closes the
   * database; later appends throw `MANDATE_AUDIT_UNAVAILABLE`.
   */
  close(): void {
    if (!this.#db.open) return;
    try {
      this.foldAll();
    } catch {
      // Left in recent_events, where they are still in the chain and every reader finds them; the
      // next open folds them.
    }
    this.#db.close();
  }
}

/**
 * A database written by an earlier schema cannot be appended to: its rows were hashed without the
 * columns added since, so mixing them would break verification. It is refused with a clear message
 * (move it aside, or keep it for `audit verify` with the release that wrote it), never migrated in place.
 */
function assertCurrentSchema(db: Database.Database, file: string): void {
  const stored = new Set((db.pragma('table_info(events)') as { name: string }[]).map((c) => c.name));
  const missing = columnNames.filter((c) => !stored.has(c));
  if (missing.length > 0) {
    throw new Error(`${file} has an older audit schema (no ${missing.join(', ')} column); move it aside`);
  }
}
