import Database from 'better-sqlite3';
import { chainHash, GENESIS_HASH } from './chain.ts';
import type { AuditRow, ChainedFields } from './row.ts';
import { columnNames } from './schema.ts';

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

/**
 * Recomputes the audit hash chain of the database at `file` (opened read-only), streaming the rows in
 * seq order, and stops at the first row that is missing (seq gap: deletion), does not link to the
 * row before it (prev_hash: insertion, reordering, replacement) or does not match its own hash
 * (modification). Throws if the file cannot be read as an audit database.
 *
 * A valid chain proves the rows are unchanged since they were written — unless someone rewrote the
 * whole chain from the point of tampering, or cut rows off the end: detecting those needs the head
 * (seq, hash) anchored outside the file.
 */
export function verifyChain(file: string): ChainVerdict {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare<[], AuditRow>(`SELECT ${columnNames.join(', ')} FROM events ORDER BY seq`);
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    for (const row of rows.iterate()) {
      const problem = findProblem(row, expectedSeq, prevHash);
      if (problem) return { ok: false, events: expectedSeq - 1, firstBadSeq: expectedSeq, problem };
      expectedSeq += 1;
      prevHash = row.hash;
    }
    return { ok: true, events: expectedSeq - 1 };
  } finally {
    db.close();
  }
}

/** Checks one row against its expected place in the chain; undefined when it is intact. */
function findProblem(row: AuditRow, expectedSeq: number, prevHash: string): string | undefined {
  if (row.seq !== expectedSeq) {
    return typeof row.seq === 'number' && row.seq > expectedSeq
      ? `seq ${expectedSeq} is missing, the next row is seq ${row.seq} (rows deleted)`
      : `found seq ${JSON.stringify(row.seq)} where seq ${expectedSeq} belongs (row inserted)`;
  }
  if (row.prev_hash !== prevHash) {
    return `prev_hash does not match the hash of seq ${expectedSeq - 1} (row inserted, reordered or replaced)`;
  }
  const { prev_hash: _prev, hash: storedHash, ...fields } = row;
  if (hashOf(prevHash, fields) !== storedHash) return 'content does not match its hash (row modified or forged)';
  return undefined;
}

/** The row's hash, or undefined if its stored values cannot even be hashed (e.g. an infinite number). */
function hashOf(prevHash: string, fields: ChainedFields): string | undefined {
  try {
    return chainHash(prevHash, fields);
  } catch {
    return undefined;
  }
}
