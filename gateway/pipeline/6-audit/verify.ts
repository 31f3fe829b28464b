import Database from 'better-sqlite3';
import { rowChainHash } from './chain.ts';
import { type ChainHead, readChainStart } from './head.ts';
import { overEventTables } from './recent-events.ts';
import { ROW, rowColumns } from './row.ts';

/** What `verifyChain` found. */
export interface ChainVerdict {
  /** True when every row is present, in order, linked and unmodified. */
  readonly ok: boolean;
  /** Rows found intact, i.e. before the first bad one. */
  readonly events: number;
  /** The first seq whose row is missing or wrong. */
  readonly firstBadSeq?: number;
  /** What is wrong with it, in words. */
  readonly problem?: string;
}

/** A chain scan's verdict, plus where the intact part ends and the hashes of the rows asked for. */
export interface ChainScan extends ChainVerdict {
  /** Where the file's chain begins (its `chain_start`, or the genesis). */
  readonly start: ChainHead;
  /** The last intact row (the start when there is none). */
  readonly head: ChainHead;
  /** seq → stored hash, for the requested seqs found among the intact rows. */
  readonly hashes: ReadonlyMap<number, string>;
  /** The intact `retention` events: what they say was removed (retention.ts). */
  readonly retentions: readonly RetentionRecord[];
}

/** A `retention` event met by the scan: its seq and its `detail` as stored (JSON text). */
export interface RetentionRecord {
  readonly seq: number;
  readonly detail: string | null;
}

/**
 * Recomputes the audit hash chain of the database at `file` (opened read-only), streaming the rows in
 * seq order, and stops at the first row that is missing (seq gap: deletion), does not link to the
 * row before it (prev_hash: insertion, reordering, replacement) or does not match its own hash
 * (modification). Throws if the file cannot be read as an audit database.
 *
 * A valid chain proves the rows are unchanged since they were written — unless someone rewrote the
 * whole chain from the point of tampering, or cut rows off the end: detecting those needs signed
 * checkpoints kept outside the file (see verify-audit.ts).
 */
export function verifyChain(file: string): ChainVerdict {
  const { ok, events, firstBadSeq, problem } = scanChain(file);
  return firstBadSeq === undefined ? { ok, events } : { ok, events, firstBadSeq, problem: problem! };
}

/**
 * The rows numbered @first..@last in seq order, from `events` and `recent_events` alike (one snapshot),
 * in positional form (row.ts `RowValues`), the form the store hashed them in.
 */
const selectRows = (db: Database.Database) =>
  overEventTables(
    db,
    (table) => `SELECT ${rowColumns.join(', ')} FROM ${table} WHERE seq BETWEEN @first AND @last`,
    'ORDER BY seq',
  );

/**
 * Scans the chain of one database file, starting from `start` (default: the file's own chain start),
 * and records the stored hashes of the seqs in `wanted` (ascending).
 */
export function scanChain(file: string, wanted: readonly number[] = [], start?: ChainHead): ChainScan {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const ownStart = readChainStart(db);
    const from = start ?? ownStart;
    // Every row, whatever its seq: a row numbered below the start is an insertion to report.
    const { firstPrevHash: _, ...range } = scanRange(db, {
      first: Number.MIN_SAFE_INTEGER,
      last: Number.MAX_SAFE_INTEGER,
      from,
      wanted,
    });
    return { ...range, start: ownStart };
  } finally {
    db.close();
  }
}

/** One stretch of rows to scan: those numbered first..last, expected to continue `from`. */
export interface RangeScan {
  readonly first: number;
  readonly last: number;
  /**
   * The row before the stretch; when unknown (a parallel scan's later chunks) `hash` is undefined and
   * the first row's own prev_hash is taken, the caller checking that link.
   */
  readonly from: { readonly seq: number; readonly hash: string | undefined };
  readonly wanted: readonly number[];
}

export interface RangeVerdict extends ChainVerdict {
  /** prev_hash of the stretch's first row, if there was one. */
  readonly firstPrevHash: string | undefined;
  readonly head: ChainHead;
  readonly hashes: Map<number, string>;
  readonly retentions: RetentionRecord[];
}

/** The scan itself, shared by the one-thread scan and the parallel one's workers (verify-range.ts). */
export function scanRange(db: Database.Database, scan: RangeScan): RangeVerdict {
  const { wanted, from } = scan;
  const hashes = new Map<number, string>();
  const retentions: RetentionRecord[] = [];
  let w = 0;
  while (w < wanted.length && wanted[w]! <= from.seq) w++;
  let expectedSeq = from.seq + 1;
  let prevHash = from.hash;
  let firstPrevHash: string | undefined;
  const verdict = (problem?: string): RangeVerdict => ({
    ok: problem === undefined,
    events: expectedSeq - 1 - from.seq,
    ...(problem === undefined ? {} : { firstBadSeq: expectedSeq, problem }),
    firstPrevHash,
    head: { seq: expectedSeq - 1, hash: prevHash ?? firstPrevHash ?? '' },
    hashes,
    retentions,
  });
  const rows = db.prepare(selectRows(db)).raw().iterate({ first: scan.first, last: scan.last }) as IterableIterator<
    unknown[]
  >;
  for (const row of rows) {
    const seq = row[ROW.seq];
    if (seq !== expectedSeq) {
      return verdict(
        typeof seq === 'number' && seq > expectedSeq
          ? `seq ${expectedSeq} is missing, the next row is seq ${seq} (rows deleted)`
          : `found seq ${JSON.stringify(seq)} where seq ${expectedSeq} belongs (row inserted)`,
      );
    }
    const rowPrev = row[ROW.prevHash] as string;
    firstPrevHash ??= rowPrev;
    prevHash ??= rowPrev;
    if (rowPrev !== prevHash) {
      return verdict(
        `prev_hash does not match the hash of seq ${expectedSeq - 1} (row inserted, reordered or replaced)`,
      );
    }
    const storedHash = row[ROW.hash] as string;
    if (rowHash(prevHash, row) !== storedHash)
      return verdict('content does not match its hash (row modified or forged)');
    if (row[ROW.kind] === 'retention') retentions.push({ seq, detail: row[ROW.detail] as string | null });
    if (seq === wanted[w]) {
      hashes.set(seq, storedHash);
      w++;
    }
    expectedSeq += 1;
    prevHash = storedHash;
  }
  return verdict();
}

/** chainHash of a raw row; undefined if its stored values cannot be hashed (e.g. an infinite number). */
function rowHash(prevHash: string, row: readonly unknown[]): string | undefined {
  try {
    return rowChainHash(prevHash, row);
  } catch {
    return undefined;
  }
}
