import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { openStateDb } from '../state/open-state-db.ts';

/** A login begun at the IdP, waiting for its redirect back: what completing it needs. */
export interface PendingLogin {
  readonly verifier: string;
  readonly nonce: string;
  readonly redirectUri: string;
  readonly expiresAtMs: number;
}

/** A user logged in to the approval page, as stored: the browser holds the id, this only its hash. */
export interface StoredSession {
  readonly user: string;
  readonly issuer: string;
  /** Synchronizer token every form of the page posts back (CSRF). */
  readonly csrf: string;
  readonly expiresAtMs: number;
}

/** Bounds the tables whatever the traffic: beyond this, the entries closest to expiry go first. */
const MAX_ROWS = 10_000;
/**
 * How many adds a process makes between two checks of the bound. Counting the rows reads the whole
 * expiry index (≈ 60 µs at the bound, on the event loop, for a request anyone can send), so every
 * 32nd add prunes to 32 below it: a table holds at most MAX_ROWS, plus 32 for each other gateway
 * process adding to the same file.
 */
const BOUND_CHECKED_EVERY = 32;

/**
 * The approval page's pending logins and sessions in the state database (`gateway.state_db`), so
 * that every gateway process on the file knows them: a login begun on one instance completes on
 * another behind a load balancer, a session works on all of them, and a restart logs nobody out.
 * Keys are stored as SHA-256 only, so the file does not hand out sessions; a login's state is used
 * once (deleted as it is read, in one statement), whichever process reads it first.
 */
export class LoginStore {
  readonly #db: Database.Database;
  /** The connection logins and sessions are added on: commits without an fsync (see `open`). */
  readonly #quick: Database.Database;
  readonly #addLogin: (state: string, login: PendingLogin) => void;
  readonly #takeLogin: Database.Statement<[string], LoginRow>;
  readonly #addSession: (id: string, session: StoredSession) => void;
  readonly #session: Database.Statement<[string], SessionRow>;
  readonly #endSession: Database.Statement<[string]>;

  private constructor(db: Database.Database, quick: Database.Database, now: () => number) {
    this.#db = db;
    this.#quick = quick;
    // Each add first drops its table's expired rows (an index range) and, every BOUND_CHECKED_EVERY
    // adds, the ones closest to expiry down to that many below MAX_ROWS; then it inserts: `values`
    // are the table's columns in order, the key's SHA-256 first.
    const adding = (table: string, columns: string) => {
      let adds = 0;
      const expired = quick.prepare(`DELETE FROM ${table} WHERE expires_at_ms <= ?`);
      const overflow = quick.prepare(
        `DELETE FROM ${table} WHERE rowid IN
           (SELECT rowid FROM ${table} ORDER BY expires_at_ms LIMIT max(0, (SELECT count(*) FROM ${table}) - ?))`,
      );
      const insert = quick.prepare(`INSERT INTO ${table} (${columns}) VALUES (?, ?, ?, ?, ?)`);
      return quick.transaction((...values: (string | number)[]) => {
        expired.run(now());
        if (++adds % BOUND_CHECKED_EVERY === 0) overflow.run(MAX_ROWS - BOUND_CHECKED_EVERY);
        insert.run(...values);
      });
    };
    const addLogin = adding('approval_logins', 'state_sha256, verifier, nonce, redirect_uri, expires_at_ms');
    this.#addLogin = (state, login) =>
      addLogin(sha256(state), login.verifier, login.nonce, login.redirectUri, login.expiresAtMs);
    this.#takeLogin = quick.prepare(
      'DELETE FROM approval_logins WHERE state_sha256 = ? RETURNING verifier, nonce, redirect_uri, expires_at_ms',
    );
    const addSession = adding('approval_sessions', 'id_sha256, user, issuer, csrf, expires_at_ms');
    this.#addSession = (id, session) =>
      addSession(sha256(id), session.user, session.issuer, session.csrf, session.expiresAtMs);
    this.#session = db.prepare('SELECT user, issuer, csrf, expires_at_ms FROM approval_sessions WHERE id_sha256 = ?');
    this.#endSession = db.prepare('DELETE FROM approval_sessions WHERE id_sha256 = ?');
  }

  /** Opens (creating if needed) the database, its folder and the two tables. Throws if it cannot. */
  static open(file: string, now: () => number): LoginStore {
    return openStateDb(file, schemaSql, (db) => {
      // Anyone can begin a login, so adding one (or a session) must not stop the event loop for an
      // fsync: a login or session a power loss takes back costs its user one more login. Ending a
      // session is committed at FULL on the other connection: a power loss must not bring it back.
      const quick = openStateDb(file, '', (connection) => connection);
      try {
        quick.pragma('synchronous = NORMAL');
        return new LoginStore(db, quick, now);
      } catch (e) {
        quick.close();
        throw e;
      }
    });
  }

  addLogin(state: string, login: PendingLogin): void {
    this.#addLogin(state, login);
  }

  /** The pending login of `state`, removed: a state completes one login at most. */
  takeLogin(state: string): PendingLogin | undefined {
    const row = this.#takeLogin.get(sha256(state));
    return (
      row && { verifier: row.verifier, nonce: row.nonce, redirectUri: row.redirect_uri, expiresAtMs: row.expires_at_ms }
    );
  }

  addSession(id: string, session: StoredSession): void {
    this.#addSession(id, session);
  }

  /** The session stored under `id`, expired or not (the caller decides). */
  session(id: string): StoredSession | undefined {
    const row = this.#session.get(sha256(id));
    return row && { user: row.user, issuer: row.issuer, csrf: row.csrf, expiresAtMs: row.expires_at_ms };
  }

  endSession(id: string): void {
    this.#endSession.run(sha256(id));
  }

  close(): void {
    this.#quick.close();
    this.#db.close();
  }
}

const sha256 = (key: string): string => createHash('sha256').update(key).digest('hex');

interface LoginRow {
  verifier: string;
  nonce: string;
  redirect_uri: string;
  expires_at_ms: number;
}

interface SessionRow {
  user: string;
  issuer: string;
  csrf: string;
  expires_at_ms: number;
}

const schemaSql = `
CREATE TABLE IF NOT EXISTS approval_logins (
  state_sha256 TEXT PRIMARY KEY,
  verifier TEXT NOT NULL,
  nonce TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS approval_sessions (
  id_sha256 TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  issuer TEXT NOT NULL,
  csrf TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
) STRICT;
-- Every add prunes by expiry, earliest first (see the constructor): without these, each one sorted
-- the whole table, ≈ 1.3 ms of the event loop per login begun at 10,000 rows.
CREATE INDEX IF NOT EXISTS approval_logins_expiry ON approval_logins (expires_at_ms);
CREATE INDEX IF NOT EXISTS approval_sessions_expiry ON approval_sessions (expires_at_ms);
`;
