import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { log } from '../../telemetry/log.ts';
import { type Checkpoint, checkpointLine, signCheckpoint } from './checkpoint.ts';
import { loadSigningKey, type SigningKey, signingKeyVersion } from './checkpoint-keys.ts';
import { readChainHead, readChainStart } from './head.ts';

/** When and where checkpoints are written (`gateway.audit.checkpoint` in routes.yaml). */
export interface CheckpointOptions {
  /** A checkpoint once at least this many events were committed since the last one. */
  readonly everyEvents: number;
  /** And one every this many seconds, even when nothing was appended (a heartbeat). */
  readonly everySeconds: number;
  /** Folder of the signing key and public-keys.json (checkpoint-keys.ts). */
  readonly keyDir: string;
  /** The external checkpoint file (JSON Lines), ideally on other storage. */
  readonly file: string;
  readonly busyTimeoutMs?: number;
  /**
   * Makes every commit so far durable, before the head is read: when commits are synced after the
   * fact (wal-sync.ts), so a checkpoint never vouches for rows a power loss could still take.
   */
  readonly syncBeforeSigning?: () => void;
}

/**
 * Writes signed checkpoints of the audit chain's head, from the writer thread, where the head is
 * known: after a committed batch once `everyEvents` have accumulated, on a timer, and on close, so
 * the newest rows of a cleanly stopped gateway are covered too.
 *
 * A checkpoint is taken in its own short transaction on its own connection, after the batch's
 * commit has been acknowledged, so signing (≈ 50 µs) never delays a request's own commit; the next
 * batch waits for it once every `everyEvents`. If a checkpoint cannot be written (file storage
 * gone…) the failure is logged and traffic continues: the events themselves are committed, and
 * `verify` reports the missing checkpoint.
 */
export class Checkpointer {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #options: CheckpointOptions;
  readonly #now: () => Date;
  readonly #timer: NodeJS.Timeout;
  #key: SigningKey;
  #keyVersion: string;
  #lastSeq: number;
  /** A checkpoint is being taken: `syncBeforeSigning` may acknowledge commits, which call `committed`. */
  #signing = false;

  private constructor(db: Database.Database, options: CheckpointOptions, now: () => Date) {
    this.#db = db;
    this.#options = options;
    this.#now = now;
    this.#key = loadSigningKey(options.keyDir, now);
    this.#keyVersion = signingKeyVersion(options.keyDir);
    this.#insert = db.prepare('INSERT INTO checkpoints (seq, hash, time, key_id, signature) VALUES (?, ?, ?, ?, ?)');
    const last = db.prepare<[], [number]>('SELECT seq FROM checkpoints ORDER BY rowid DESC LIMIT 1').raw().get();
    this.#lastSeq = last?.[0] ?? readChainStart(db).seq;
    this.#timer = setInterval(() => this.#checkpointLogged('timer'), options.everySeconds * 1000);
    this.#timer.unref();
  }

  /** Opens a connection of its own to the audit database (whose schema the store has created). */
  static open(dbFile: string, options: CheckpointOptions, now: () => Date = () => new Date()): Checkpointer {
    const db = new Database(dbFile, { fileMustExist: true, timeout: options.busyTimeoutMs ?? 2000 });
    try {
      return new Checkpointer(db, options, now);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** Called after each committed batch with its last seq. */
  committed(lastSeq: number): void {
    // The checkpoint being taken signs the head as it is after the sync, which covers this batch.
    if (this.#signing) return;
    if (lastSeq - this.#lastSeq >= this.#options.everyEvents) this.#checkpointLogged('events');
  }

  /**
   * Signs the current head, stores the checkpoint (head read and row inserted in one transaction, so
   * they agree), then appends it to the checkpoint file with an fsync.
   */
  checkpoint(): Checkpoint {
    this.#reloadKeyIfRotated();
    this.#signing = true;
    try {
      this.#options.syncBeforeSigning?.();
    } finally {
      this.#signing = false;
    }
    const checkpoint = this.#db
      .transaction(() => {
        const head = readChainHead(this.#db);
        const c = signCheckpoint({ ...head, time: this.#now().toISOString() }, this.#key.keyId, this.#key.privateKey);
        this.#insert.run(c.seq, c.hash, c.time, c.key_id, c.signature);
        return c;
      })
      .immediate();
    this.#lastSeq = checkpoint.seq;
    appendDurably(this.#options.file, checkpointLine(checkpoint));
    return checkpoint;
  }

  /** Stops the timer and covers the tail with a last checkpoint if anything was appended since. */
  close(): void {
    clearInterval(this.#timer);
    try {
      if (readChainHead(this.#db).seq !== this.#lastSeq) this.checkpoint();
    } catch (e) {
      log.error({ err: e }, 'final audit checkpoint failed');
    } finally {
      this.#db.close();
    }
  }

  #checkpointLogged(trigger: string): void {
    try {
      this.checkpoint();
    } catch (e) {
      log.error({ err: e, trigger }, 'audit checkpoint failed');
    }
  }

  // `mandate audit rotate-checkpoint-key` swaps the key file under a running gateway; the next
  // checkpoint picks it up.
  #reloadKeyIfRotated(): void {
    const version = signingKeyVersion(this.#options.keyDir);
    if (version === this.#keyVersion) return;
    this.#key = loadSigningKey(this.#options.keyDir, this.#now);
    this.#keyVersion = version;
  }
}

function appendDurably(file: string, line: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a', 0o644);
  try {
    writeSync(fd, line);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
