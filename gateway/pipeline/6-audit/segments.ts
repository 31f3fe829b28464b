import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

/**
 * A sealed segment of the audit trail: a read-only SQLite file next to the active database, named
 * after the active file and the seqs it holds — `audit.db` seals into `audit-000000000001-000000001042.db`.
 * The seqs are in the name so that files sort in chain order, an operator sees what each holds, and
 * `verify` notices a file renamed to sit elsewhere in the chain (its content must match its name).
 */
export interface Segment {
  readonly file: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

const DIGITS = 12;

/** The sealed segment file of `activeFile` holding seqs `firstSeq`..`lastSeq`. */
export function segmentFile(activeFile: string, firstSeq: number, lastSeq: number): string {
  const pad = (n: number) => String(n).padStart(DIGITS, '0');
  return join(dirname(activeFile), `${stem(activeFile)}-${pad(firstSeq)}-${pad(lastSeq)}${extname(activeFile)}`);
}

/**
 * The sealed segments of `activeFile`, in chain order (oldest first): those next to it, or those in
 * `dir` (a retention archive, where they keep their names).
 */
export function listSegments(activeFile: string, dir = dirname(activeFile)): Segment[] {
  const pattern = new RegExp(
    `^${escapeRegExp(stem(activeFile))}-(\\d{${DIGITS},})-(\\d{${DIGITS},})${escapeRegExp(extname(activeFile))}$`,
  );
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const segments: Segment[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (m) segments.push({ file: join(dir, name), firstSeq: Number(m[1]), lastSeq: Number(m[2]) });
  }
  return segments.sort((a, b) => a.firstSeq - b.firstSeq || a.lastSeq - b.lastSeq);
}

/** The seqs a sealed segment's name says it holds; undefined for a file not named like a segment. */
export function segmentRange(file: string): { firstSeq: number; lastSeq: number } | undefined {
  const m = new RegExp(`-(\\d{${DIGITS},})-(\\d{${DIGITS},})\\.[^.]+$`).exec(basename(file));
  return m ? { firstSeq: Number(m[1]), lastSeq: Number(m[2]) } : undefined;
}

/**
 * Every file of the trail in chain order: the sealed segments (with `archiveDir`, those retention
 * moved there too), then the active database. Throws when one segment is in both places: which copy
 * is the trail's is not for this function to guess.
 */
export function chainFiles(activeFile: string, archiveDir?: string): string[] {
  const beside = listSegments(activeFile);
  // A mistyped archive must not pass as an empty one.
  if (archiveDir !== undefined && !statSync(archiveDir).isDirectory()) throw new Error(`${archiveDir} is not a folder`);
  const archived = archiveDir === undefined ? [] : listSegments(activeFile, archiveDir);
  const names = new Set(beside.map((s) => basename(s.file)));
  const twice = archived.find((s) => names.has(basename(s.file)));
  if (twice !== undefined) {
    throw new Error(`${basename(twice.file)} is both in ${archiveDir} and next to ${activeFile}: verify one copy`);
  }
  const segments = [...beside, ...archived].sort((a, b) => a.firstSeq - b.firstSeq || a.lastSeq - b.lastSeq);
  return [...segments.map((s) => s.file), activeFile];
}

/** Bytes on disk of a database file with its WAL, 0 for what does not exist. */
export function fileBytes(file: string): number {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(file + suffix).size;
    } catch {
      // absent
    }
  }
  return total;
}

const stem = (file: string) => basename(file, extname(file));
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
