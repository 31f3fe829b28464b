import type Database from 'better-sqlite3';
import { GENESIS_HASH } from './chain.ts';
import { overEventTables } from './recent-events.ts';

/** A position in the chain: row `seq` and its hash (seq 0 and 64 zeros before the first event). */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Where a database's chain begins: the genesis for the first file, or, for a file started by a
 * segment rotation, the sealed segment's last row (the `chain_start` table).
 */
export function readChainStart(db: Database.Database): ChainHead {
  // A database written before segments existed has no such table (and read-only verify cannot add it).
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chain_start'").get();
  if (!hasTable) return { seq: 0, hash: GENESIS_HASH };
  const row = db.prepare<[], [number, string]>('SELECT seq, hash FROM chain_start LIMIT 1').raw().get();
  return row ? { seq: row[0], hash: row[1] } : { seq: 0, hash: GENESIS_HASH };
}

/** The newest row's seq and hash, or the chain start when the database has no event yet. */
export function readChainHead(db: Database.Database): ChainHead {
  const newest = overEventTables(
    db,
    (table) => `SELECT seq, hash FROM ${table} ORDER BY seq DESC LIMIT 1`,
    'ORDER BY seq DESC LIMIT 1',
  );
  const row = db.prepare<[], [number, string]>(newest).raw().get();
  return row ? { seq: row[0], hash: row[1] } : readChainStart(db);
}
