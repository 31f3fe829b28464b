import { close, closeSync, fsync, fsyncSync, mkdirSync, open, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { log } from '../../telemetry/log.ts';

/**
 * The external checkpoint file (JSON Lines). A line is written at once, so the file holds checkpoints
 * in the order they were taken; making it durable is either done at once (`appendNow`) or left to an
 * fsync on libuv's pool (`append`), so the audit writer thread, which takes a checkpoint every
 * `every_events` events, does not stop for the disk each time (measured: ≈ 5 ms per checkpoint, eight
 * times a second under `npm run bench`, during which every waiting request waited too).
 *
 * The file is opened per line rather than held open, so a file moved away by an operator is not
 * written to after it moved. fsync works on any descriptor of the file, a read-only one included.
 */
export class CheckpointFile {
  readonly #path: string;
  #syncing = false;
  #written = false;
  /** A line was written while an fsync was running: it needs another one. */
  #syncAgain = false;

  constructor(path: string) {
    this.#path = path;
  }

  /** Writes the line; an fsync on libuv's pool makes it durable shortly after. */
  append(line: string): void {
    this.#write(line);
    this.#syncSoon();
  }

  /** Writes the line and returns once it is on disk. */
  appendNow(line: string): void {
    this.#write(line);
    this.syncNow();
  }

  /** Makes every line written so far durable, on this thread. */
  syncNow(): void {
    if (!this.#written) return;
    const fd = openSync(this.#path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  #write(line: string): void {
    mkdirSync(dirname(this.#path), { recursive: true });
    const fd = openSync(this.#path, 'a', 0o644);
    try {
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
    this.#written = true;
  }

  #syncSoon(): void {
    if (this.#syncing) {
      this.#syncAgain = true;
      return;
    }
    this.#syncing = true;
    const done = (error: Error | null) => {
      this.#syncing = false;
      // The events are committed either way; a missing checkpoint is what `audit verify` reports.
      if (error) log.error({ err: error, file: this.#path }, 'audit checkpoint file not synced');
      if (this.#syncAgain) {
        this.#syncAgain = false;
        this.#syncSoon();
      }
    };
    open(this.#path, 'r', (opened, fd) => {
      if (opened) return done(opened);
      fsync(fd, (synced) => close(fd, () => done(synced)));
    });
  }
}
