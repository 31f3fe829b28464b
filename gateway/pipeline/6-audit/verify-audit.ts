import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { type Checkpoint, hasValidSignature, parseCheckpoint } from './checkpoint.ts';
import { readPublicKeys } from './checkpoint-keys.ts';
import type { ChainHead } from './head.ts';
import { segmentRange } from './segments.ts';
import type { RetentionRecord } from './verify.ts';
import { scanChainParallel } from './verify-parallel.ts';

/**
 * What `mandate audit verify` concluded, most serious first; each is an exit code (README):
 * - intact (0): chain intact and consistent with every checkpoint (warnings may say what was not checked);
 * - broken (1): a row is modified, missing, inserted or out of order;
 * - bad_checkpoint (3): a checkpoint is malformed, signed by an unknown key, or its signature is invalid;
 * - truncated (4): a signed checkpoint covers rows the audit no longer has (the tail was cut off);
 * - diverged (5): the audit disagrees with a signed checkpoint (rewritten chain, deleted checkpoint rows).
 */
export type AuditStatus = 'intact' | 'broken' | 'bad_checkpoint' | 'truncated' | 'diverged';

export interface AuditVerdict {
  readonly status: AuditStatus;
  /** Events verified (before the first bad one). */
  readonly events: number;
  /** The chain's first and last seq (the first is after the start of a retained segment). */
  readonly head: ChainHead;
  readonly firstBadSeq?: number;
  readonly problem?: string;
  /** Checkpoints whose signature and hash were checked. */
  readonly checkpoints: number;
  /** What could not be checked, or looks wrong without proving tampering. */
  readonly warnings: readonly string[];
  /** When the oldest segments were removed by retention: up to which seq, and the event recording it. */
  readonly retained?: { readonly lastSeq: number; readonly recordedAt: number };
  /** Segments read from the retention archive (`archived`), and the last seq they hold. */
  readonly archived?: { readonly files: number; readonly lastSeq: number };
}

export interface AuditVerifyInput {
  /** The database files in chain order: sealed segments oldest first, then the active database. */
  readonly files: readonly string[];
  /** public-keys.json (a JWK Set); without it signatures are not checked (a warning). */
  readonly keysFile?: string;
  /** The external checkpoint file; without it tail truncation cannot be detected (a warning). */
  readonly checkpointsFile?: string;
  /**
   * Which of `files` come from the retention archive: segments whose removal the chain records, so
   * finding them is expected rather than a warning.
   */
  readonly archived?: ReadonlySet<string>;
}

interface Sourced extends Checkpoint {
  /** Where it was read: `FILE line N` or `DB checkpoints`. */
  readonly source: string;
}

/**
 * Verifies an audit trail end to end: the hash chain across every file, the signature of every
 * checkpoint (in the databases and in the external file), and that the chain agrees with them —
 * a checkpoint beyond the last row proves tail truncation, one whose hash differs a rewrite.
 * Throws when a file cannot be read at all (exit 2).
 */
export async function verifyAudit(input: AuditVerifyInput): Promise<AuditVerdict> {
  const warnings: string[] = [];
  const keys = input.keysFile === undefined ? undefined : readPublicKeys(input.keysFile);
  const stored = input.files.flatMap(readStoredCheckpoints);
  const external = input.checkpointsFile === undefined ? [] : readCheckpointFile(input.checkpointsFile);
  if (input.checkpointsFile === undefined) {
    warnings.push('no --checkpoints file: removal of the newest rows (tail truncation) cannot be detected');
  }
  if (keys === undefined) warnings.push('no --keys file: checkpoint signatures were not checked');
  const all = [...external, ...stored];
  const empty = { events: 0, head: { seq: 0, hash: '' }, checkpoints: 0, warnings };

  for (const c of all) {
    if ('malformed' in c) return { ...empty, status: 'bad_checkpoint', problem: `${c.source} is not a checkpoint` };
    if (keys === undefined) continue;
    const key: KeyObject | undefined = keys.get(c.key_id);
    if (!key) return badCheckpoint(empty, c, `signed by unknown key ${c.key_id}`);
    if (!hasValidSignature(c, key)) return badCheckpoint(empty, c, 'invalid signature (forged or altered)');
  }
  // Every entry is well formed from here on.
  const checkpoints = all as Sourced[];
  const inDatabase = stored as Sourced[];
  const inFile = external as Sourced[];

  // The chain, file after file: each file must continue the one before it.
  const wanted = [...new Set(checkpoints.map((c) => c.seq))].sort((a, b) => a - b);
  const hashes = new Map<number, string>();
  let head: ChainHead | undefined;
  let first: ChainHead | undefined;
  let events = 0;
  const retentions: RetentionRecord[] = [];
  /** The seqs each file held, for what retention says it removed. */
  const held: { file: string; firstSeq: number; lastSeq: number }[] = [];
  for (const file of input.files) {
    const scan = await scanChainParallel(file, wanted, head);
    if (head !== undefined && (scan.start.seq !== head.seq || scan.start.hash !== head.hash)) {
      return {
        ...empty,
        events,
        head,
        status: 'broken',
        firstBadSeq: head.seq + 1,
        problem: `${file} does not continue the file before it (it starts after seq ${scan.start.seq})`,
      };
    }
    first ??= scan.start;
    events += scan.events;
    for (const [seq, hash] of scan.hashes) hashes.set(seq, hash);
    if (!scan.ok) {
      return {
        ...empty,
        events,
        head: scan.head,
        status: 'broken',
        firstBadSeq: scan.firstBadSeq!,
        problem: `${scan.problem} (${file})`,
      };
    }
    const named = segmentRange(file);
    if (named !== undefined && (named.firstSeq !== scan.start.seq + 1 || named.lastSeq !== scan.head.seq)) {
      return {
        ...empty,
        events,
        head: scan.head,
        status: 'broken',
        firstBadSeq: scan.start.seq + 1,
        problem: `${file} holds seqs ${scan.start.seq + 1}–${scan.head.seq}, not what its name says (segment renamed or altered)`,
      };
    }
    retentions.push(...scan.retentions);
    held.push({ file, firstSeq: scan.start.seq + 1, lastSeq: scan.head.seq });
    head = scan.head;
  }
  if (!head || !first) throw new Error('no audit database given');
  if (first.seq > 0) hashes.set(first.seq, first.hash);
  const end = head;
  const found = (status: AuditStatus, firstBadSeq: number, problem: string): AuditVerdict => ({
    ...empty,
    events,
    head: end,
    checkpoints: checkpoints.length,
    status,
    firstBadSeq,
    problem,
  });

  // The chain against the checkpoints, oldest seq first, so the first disagreement is reported.
  let lastGood = first.seq;
  for (const c of [...checkpoints].sort((a, b) => a.seq - b.seq)) {
    if (c.seq < first.seq) continue; // before the oldest retained segment
    if (c.seq > head.seq) {
      return found(
        'truncated',
        head.seq + 1,
        `${c.source}, signed at ${c.time}, covers seq ${c.seq} but the audit ends at seq ${head.seq}: rows ${head.seq + 1}–${c.seq} were removed`,
      );
    }
    if (hashes.get(c.seq) !== c.hash) {
      return found(
        'diverged',
        lastGood + 1,
        `${c.source}, signed at ${c.time}, holds another hash for seq ${c.seq}: the chain was rewritten after seq ${lastGood}`,
      );
    }
    lastGood = c.seq;
  }

  // The external file and the databases must tell the same story.
  const storedSignatures = new Set(inDatabase.map((c) => c.signature));
  for (const c of inFile) {
    if (c.seq > first.seq && !storedSignatures.has(c.signature)) {
      return found(
        'diverged',
        c.seq,
        `${c.source} (seq ${c.seq}) is missing from the database's checkpoints table (checkpoint rows deleted)`,
      );
    }
  }
  const filedSignatures = new Set(inFile.map((c) => c.signature));
  const unfiled = inDatabase.filter((c) => !filedSignatures.has(c.signature));
  if (input.checkpointsFile !== undefined && unfiled.length > 0) {
    warnings.push(
      `${unfiled.length} checkpoint(s) in the database are not in ${input.checkpointsFile} (it was unwritable, or is an older copy)`,
    );
  }
  // The oldest file left must start where a recorded removal ended: otherwise a segment is missing.
  // Retention removes oldest first, so the removal just before the first file present is the one
  // that matters; its event lives in a file at least as new, which is still there.
  const removals = retentions.flatMap((r) => parseRemoval(r));
  let retained: AuditVerdict['retained'];
  if (first.seq > 0) {
    const vouching = removals.find((r) => r.lastSeq === first.seq && r.lastHash === first.hash);
    if (vouching === undefined) {
      return found(
        'broken',
        first.seq,
        `the oldest file starts after seq ${first.seq}, and no retention event records the removal of seqs up to ${first.seq} (a segment is missing)`,
      );
    }
    retained = { lastSeq: first.seq, recordedAt: vouching.seq };
  }
  // Removed seqs found again: expected from the archive, a warning next to the database.
  const archivedFiles = held.filter((f) => input.archived?.has(f.file));
  for (const r of removals) {
    if (held.some((f) => f.firstSeq <= r.lastSeq && !input.archived?.has(f.file))) {
      warnings.push(`retention event seq ${r.seq} removed seqs up to ${r.lastSeq}, but they are still here`);
    }
  }
  if (checkpoints.length === 0) warnings.push('no checkpoints found');
  return {
    status: 'intact',
    events,
    head,
    checkpoints: checkpoints.length,
    warnings,
    ...(retained === undefined ? {} : { retained }),
    ...(archivedFiles.length === 0
      ? {}
      : { archived: { files: archivedFiles.length, lastSeq: Math.max(...archivedFiles.map((f) => f.lastSeq)) } }),
  };
}

/** A retention event's facts (retention-event.ts); nothing for a detail that does not hold them. */
function parseRemoval(r: RetentionRecord): { seq: number; lastSeq: number; lastHash: string }[] {
  try {
    const detail = JSON.parse(r.detail ?? 'null') as { last_seq?: unknown; last_hash?: unknown } | null;
    if (typeof detail?.last_seq === 'number' && typeof detail.last_hash === 'string') {
      return [{ seq: r.seq, lastSeq: detail.last_seq, lastHash: detail.last_hash }];
    }
  } catch {
    // not JSON: a forged row would have broken the chain already
  }
  return [];
}

function badCheckpoint(empty: Omit<AuditVerdict, 'status'>, c: Sourced, what: string): AuditVerdict {
  return { ...empty, status: 'bad_checkpoint', firstBadSeq: c.seq, problem: `${c.source} (seq ${c.seq}): ${what}` };
}

type Read = Sourced | { readonly malformed: true; readonly source: string };

function readCheckpointFile(file: string): Read[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line, i) => {
    const c = parseCheckpoint(line);
    const source = `${file} line ${i + 1}`;
    return c ? { ...c, source } : { malformed: true, source };
  });
}

function readStoredCheckpoints(file: string): Read[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").get();
    if (!table) return [];
    const rows = db.prepare('SELECT rowid, seq, hash, time, key_id, signature FROM checkpoints ORDER BY rowid').all();
    return (rows as (Checkpoint & { rowid: number })[]).map((row) => {
      const c = parseCheckpoint(JSON.stringify(row));
      const source = `${file} checkpoints row ${row.rowid}`;
      return c ? { ...c, source } : { malformed: true, source };
    });
  } finally {
    db.close();
  }
}
