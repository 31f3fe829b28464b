import Database from 'better-sqlite3';
import { log } from '../../telemetry/log.ts';
import { type Checkpoint, checkpointLine, signCheckpoint } from './checkpoint.ts';
import { CheckpointFile } from './checkpoint-file.ts';
import { loadSigningKey, type SigningKey, signingKeyVersion } from './checkpoint-keys.ts';
import { type ChainHead, readChainHead, readChainStart } from './head.ts';

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
}

/**
 * Writes signed checkpoints of the audit chain's head, from the writer thread, where the head is
 * known: after an acknowledged batch once `everyEvents` have accumulated, on a timer, and on close,
 * so the newest rows of a cleanly stopped gateway are covered too.
 *
 * A checkpoint is taken in its own short transaction on its own connection, after the batch's
 * commit has been acknowledged, so signing (≈ 50 µs) never delays a request's own commit; the next
 * batch waits for it once every `everyEvents`, but never for a disk sync (see `committed`). If a
 * checkpoint cannot be written (file storage gone…) the failure is logged and traffic continues: the
 * events themselves are committed, and `verify` reports the missing checkpoint.
 */
export class Checkpointer {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #options: CheckpointOptions;
  readonly #now: () => Date;
  readonly #timer: NodeJS.Timeout;
  readonly #file: CheckpointFile;
  #key: SigningKey;
  #keyVersion: string;
  #lastSeq: number;

  private constructor(db: Database.Database, options: CheckpointOptions, now: () => Date) {
    this.#db = db;
    this.#options = options;
    this.#now = now;
    this.#file = new CheckpointFile(options.file);
    // The table's copy rides on the audit store's own syncs (wal-sync.ts at FULL): no fsync of its
    // own per checkpoint. The copy that proves a truncation is the file's.
    db.pragma('synchronous = NORMAL');
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

  /**
   * Called after each acknowledged batch with its last row. An acknowledged batch is as durable as
   * configured (at FULL, synced), so that very row is signed, and the file's fsync runs on libuv's
   * pool.
   */
  committed(last: ChainHead): void {
    if (last.seq - this.#lastSeq >= this.#options.everyEvents) this.#checkpointLogged('events', last);
  }

  /**
   * Signs a head and stores the checkpoint in the table and the file. `acknowledged`: that head (see
   * `committed`), the file synced shortly after. Otherwise (timer, close) the current head is read
   * and signed in one transaction with the row's insert (so they agree), and the file synced before
   * this returns. Either way the head is durable: the writer thread syncs each commit before it
   * does anything else (writer-thread.ts), so a checkpoint never vouches for rows a power loss could
   * still take.
   */
  checkpoint(acknowledged?: ChainHead): Checkpoint {
    this.#reloadKeyIfRotated();
    const checkpoint = this.#db
      .transaction(() => {
        const head = acknowledged ?? readChainHead(this.#db);
        const c = signCheckpoint(
          { seq: head.seq, hash: head.hash, time: this.#now().toISOString() },
          this.#key.keyId,
          this.#key.privateKey,
        );
        this.#insert.run(c.seq, c.hash, c.time, c.key_id, c.signature);
        return c;
      })
      .immediate();
    this.#lastSeq = checkpoint.seq;
    if (acknowledged) this.#file.append(checkpointLine(checkpoint));
    else this.#file.appendNow(checkpointLine(checkpoint));
    return checkpoint;
  }

  /** Stops the timer and covers the tail with a last checkpoint if anything was appended since. */
  close(): void {
    clearInterval(this.#timer);
    try {
      if (readChainHead(this.#db).seq !== this.#lastSeq) this.checkpoint();
      else this.#file.syncNow(); // the last checkpoint's fsync may still be on libuv's pool
    } catch (e) {
      log.error({ err: e }, 'final audit checkpoint failed');
    } finally {
      this.#db.close();
    }
  }

  #checkpointLogged(trigger: string, acknowledged?: ChainHead): void {
    try {
      this.checkpoint(acknowledged);
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
