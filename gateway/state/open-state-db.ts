import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';

/** How long a writer waits for another process's write lock before it gives up (SQLite busy timeout). */
const DEFAULT_BUSY_TIMEOUT_MS = 2000;

/**
 * Opens the state database (`gateway.state_db`) for one store: revocations, approvals and limits each
 * keep their own tables in the same file, and each must open it the same way, so it is done here once.
 *
 * - its folder is created, and the file if it does not exist;
 * - WAL: readers (the gateway polling for other processes' changes) never block the writers, which
 *   may be several processes (gateways on one file, `mandate revoke`, `mandate task …`);
 * - synchronous = FULL: every store answers, or lets a call go upstream, only after its commit, and a
 *   lost commit would give something back (a revoked token, a used approval, a spent budget);
 * - `schemaSql` (CREATE … IF NOT EXISTS) runs, then `build` (migrations, prepared statements);
 * - on any failure the connection is closed before the error is thrown, so a store that cannot open
 *   leaves no handle (and no lock) behind.
 */
export function openStateDb<T>(
  file: string,
  schemaSql: string,
  build: (db: Database.Database) => T,
  options: { busyTimeoutMs?: number } = {},
): T {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  const db = new Database(file, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(schemaSql);
    return build(db);
  } catch (e) {
    db.close();
    throw e;
  }
}
