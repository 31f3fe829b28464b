import type Database from 'better-sqlite3';
import { openStateDb } from '../state/open-state-db.ts';
import type { Revocation, RevocationRequest, RevocationTarget } from './revocation.ts';

/**
 * Revocations in the state database (`gateway.state_db`, SQLite, WAL), table `revocations`, one row
 * per revocation, never updated; only a jti revocation past its `expires_at_ms` is deleted (`prune`),
 * its token being unacceptable by then anyway. Kept out of the audit file, which is
 * append-only and hash-chained for events; each revocation is also an audit event there.
 * Several processes may write it (the gateway, `mandate revoke`): SQLite serialises the writers.
 */
export class RevocationStore {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[string, string, string, number, string, string, number | null]>;
  readonly #prune: Database.Statement<[number]>;
  readonly #since: Database.Statement<[number], RevocationRow>;
  readonly #newestFirst: Database.Statement<[number], RevocationRow>;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO revocations (target, value, revoked_at, revoked_at_ms, revoked_by, reason, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#prune = db.prepare("DELETE FROM revocations WHERE target = 'jti' AND expires_at_ms < ?");
    this.#since = db.prepare('SELECT * FROM revocations WHERE id > ? ORDER BY id');
    this.#newestFirst = db.prepare('SELECT * FROM revocations ORDER BY id DESC LIMIT ?');
  }

  /**
   * Opens (creating if needed) the database, its folder and its table. Throws if it cannot. FULL
   * (see openStateDb): a revocation is answered only after its commit, and a lost one would let a
   * token back in; revocations are rare, so this costs nothing on the request path.
   */
  static open(file: string, options: { busyTimeoutMs?: number } = {}): RevocationStore {
    return openStateDb(
      file,
      schemaSql,
      (db) => {
        // A state database from before jti revocations expired: its jti rows keep a null expiry (never pruned).
        const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('revocations');
        if (!columns.includes('expires_at_ms')) db.exec('ALTER TABLE revocations ADD COLUMN expires_at_ms INTEGER');
        return new RevocationStore(db);
      },
      options,
    );
  }

  /**
   * Stores a revocation (committed when this returns) and returns it with its id. `expiresAtMs`: see
   * `jtiRevocationExpiry`; null for anything but a jti.
   */
  insert(request: RevocationRequest, revokedBy: string, revokedAtMs: number, expiresAtMs: number | null): Revocation {
    const revokedAt = new Date(revokedAtMs).toISOString();
    const { lastInsertRowid } = this.#insert.run(
      request.target,
      request.value,
      revokedAt,
      revokedAtMs,
      revokedBy,
      request.reason,
      expiresAtMs,
    );
    const { target, value, reason } = request;
    return { target, value, reason, id: Number(lastInsertRowid), revokedAtMs, revokedBy, expiresAtMs };
  }

  /** Deletes jti revocations that expired before `nowMs`; returns how many. */
  prune(nowMs: number): number {
    return this.#prune.run(nowMs).changes;
  }

  /** Revocations with an id above `id`, oldest first: what another process added since the last read. */
  since(id: number): Revocation[] {
    return this.#since.all(id).map(fromRow);
  }

  newestFirst(limit: number): Revocation[] {
    return this.#newestFirst.all(limit).map(fromRow);
  }

  /** Changes when another connection commits to the file (SQLite `PRAGMA data_version`). */
  dataVersion(): number {
    return this.#db.pragma('data_version', { simple: true }) as number;
  }

  close(): void {
    this.#db.close();
  }
}

interface RevocationRow {
  id: number;
  target: RevocationTarget;
  value: string;
  revoked_at: string;
  revoked_at_ms: number;
  revoked_by: string;
  reason: string;
  expires_at_ms: number | null;
}

const fromRow = (row: RevocationRow): Revocation => ({
  id: row.id,
  target: row.target,
  value: row.value,
  reason: row.reason,
  revokedAtMs: row.revoked_at_ms,
  revokedBy: row.revoked_by,
  expiresAtMs: row.expires_at_ms,
});

// STRICT and CHECK: a row the index could not interpret is refused at insert, not skipped at load.
const schemaSql = `
CREATE TABLE IF NOT EXISTS revocations (
  id INTEGER PRIMARY KEY,
  target TEXT NOT NULL CHECK (target IN ('user', 'txn', 'agent', 'jti')),
  value TEXT NOT NULL,
  revoked_at TEXT NOT NULL,
  revoked_at_ms INTEGER NOT NULL,
  revoked_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  expires_at_ms INTEGER CHECK (expires_at_ms IS NULL OR target = 'jti')
) STRICT;
`;
