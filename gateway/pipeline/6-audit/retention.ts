import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEvent } from './event.ts';
import { overEventTables } from './recent-events.ts';
import { type Removal, retentionEvent } from './retention-event.ts';
import { readRange } from './seal.ts';
import { fileBytes, listSegments, type Segment } from './segments.ts';

/** `gateway.audit_segment.retention`, as the writer thread takes it. */
export interface RetentionOptions {
  readonly maxAgeSeconds?: number;
  readonly maxTotalBytes?: number;
  readonly archiveDir?: string;
}

/**
 * Removes the oldest sealed segments of `activeFile` that are beyond the retention limits: while the
 * oldest one's newest event is older than `maxAgeSeconds`, or while all the files together (the
 * active one included) exceed `maxTotalBytes`. Oldest first and never the active file, so what
 * remains is always one unbroken stretch of the chain ending at the head.
 *
 * Each removal is recorded first — `record` appends its `retention` event to the chain and throws if
 * it cannot be committed — and only then is the file deleted (or moved to `archiveDir`). So a removal
 * is never unrecorded: at worst (a crash in between) a file is recorded as removed and still there.
 */
export function applyRetention(
  activeFile: string,
  options: RetentionOptions,
  record: (event: AuditEvent) => void,
  now: Date,
): Removal[] {
  const segments = listSegments(activeFile);
  let total = fileBytes(activeFile) + segments.reduce((sum, s) => sum + fileBytes(s.file), 0);
  const removals: Removal[] = [];
  for (const segment of segments) {
    const lastTime = newestEventTime(segment.file);
    const tooOld =
      options.maxAgeSeconds !== undefined &&
      lastTime !== null &&
      now.getTime() - Date.parse(lastTime) > options.maxAgeSeconds * 1000;
    const tooBig = options.maxTotalBytes !== undefined && total > options.maxTotalBytes;
    if (!tooOld && !tooBig) break;
    const bytes = fileBytes(segment.file);
    const removal = describe(segment, lastTime, bytes, tooOld ? 'max_age_seconds' : 'max_total_bytes', options);
    record(retentionEvent(removal, now));
    remove(segment.file, removal.archivedTo);
    total -= bytes;
    removals.push(removal);
  }
  return removals;
}

function describe(
  segment: Segment,
  lastTime: string | null,
  bytes: number,
  rule: Removal['rule'],
  options: RetentionOptions,
): Removal {
  // The content, not the name, says what the chain loses.
  const { start, head } = readRange(segment.file);
  return {
    segment: basename(segment.file),
    firstSeq: start.seq + 1,
    lastSeq: head.seq,
    lastHash: head.hash,
    lastTime,
    bytes,
    rule,
    archivedTo: options.archiveDir === undefined ? null : join(options.archiveDir, basename(segment.file)),
  };
}

function newestEventTime(file: string): string | null {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const newest = overEventTables(
      db,
      (table) => `SELECT seq, time FROM ${table} ORDER BY seq DESC LIMIT 1`,
      'ORDER BY seq DESC LIMIT 1',
    );
    return (db.prepare(`SELECT time FROM (${newest})`).pluck().get() as string | undefined) ?? null;
  } finally {
    db.close();
  }
}

/** Deletes the segment, or moves it (a rename, or a copy fsynced before the original goes). */
function remove(file: string, archivedTo: string | null): void {
  if (archivedTo === null) {
    rmSync(file);
    return;
  }
  mkdirSync(join(archivedTo, '..'), { recursive: true });
  try {
    renameSync(file, archivedTo);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    copyFileSync(file, archivedTo);
    const fd = openSync(archivedTo, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (statSync(archivedTo).size !== statSync(file).size) throw new Error(`copy of ${file} is incomplete`);
    rmSync(file);
  }
}
