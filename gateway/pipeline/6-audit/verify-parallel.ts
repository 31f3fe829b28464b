import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type ChainHead, readChainStart } from './head.ts';
import { overEventTables } from './recent-events.ts';
import { type ChainScan, type RangeScan, type RangeVerdict, scanChain } from './verify.ts';

/** Below this many rows one thread is as fast as starting workers. */
const MIN_PARALLEL_ROWS = 100_000;

/**
 * scanChain on several threads: every row's hash depends only on its own stored values and
 * prev_hash, so the rows can be split into consecutive stretches checked side by side, and the links
 * between stretches (each stretch's first prev_hash = the previous stretch's last hash) checked
 * afterwards. Anything found wrong is re-scanned on one thread, so a broken chain gets exactly the
 * verdict and wording of scanChain; an intact one is verified about `threads` times faster.
 * Rows appended while it runs are left for the next verify.
 */
export async function scanChainParallel(
  file: string,
  wanted: readonly number[] = [],
  start?: ChainHead,
  { threads = Math.min(availableParallelism(), 4), minRows = MIN_PARALLEL_ROWS } = {},
): Promise<ChainScan> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  let ownStart: ChainHead;
  let bounds: [number | null, number | null];
  try {
    ownStart = readChainStart(db);
    // Two subqueries per table, each answered from the rowid's ends (with both in one SELECT, SQLite scans).
    const perTable = overEventTables(
      db,
      (table) => `SELECT (SELECT min(seq) FROM ${table}) AS lo, (SELECT max(seq) FROM ${table}) AS hi`,
    );
    bounds = db.prepare<[], [number | null, number | null]>(`SELECT min(lo), max(hi) FROM (${perTable})`).raw().get()!;
  } finally {
    db.close();
  }
  const from = start ?? ownStart;
  const [min, max] = bounds;
  if (threads < 2 || min === null || max === null || min !== from.seq + 1 || max - min < minRows) {
    return scanChain(file, wanted, start);
  }
  const size = Math.ceil((max - min + 1) / threads);
  const scans: RangeScan[] = [];
  for (let first = min; first <= max; first += size) {
    const last = Math.min(first + size - 1, max);
    scans.push({ first, last, from: { seq: first - 1, hash: first === min ? from.hash : undefined }, wanted });
  }
  const verdicts = await Promise.all(scans.map((scan) => scanInWorker(file, scan)));
  const hashes = new Map<number, string>();
  const retentions = verdicts.flatMap((v) => v.retentions);
  for (const [i, v] of verdicts.entries()) {
    const linked = i === 0 || v.firstPrevHash === verdicts[i - 1]!.head.hash;
    if (!v.ok || !linked || v.head.seq !== scans[i]!.last) return scanChain(file, wanted, start);
    for (const [seq, hash] of v.hashes) hashes.set(seq, hash);
  }
  return { ok: true, events: max - from.seq, start: ownStart, head: verdicts.at(-1)!.head, hashes, retentions };
}

async function scanInWorker(file: string, scan: RangeScan): Promise<RangeVerdict> {
  const worker = new Worker(new URL('./verify-range.ts', import.meta.url), { workerData: { file, scan } });
  const [verdict] = (await once(worker, 'message')) as [RangeVerdict];
  return verdict;
}
