import type Database from 'better-sqlite3';
import { openStateDb } from '../state/open-state-db.ts';
import type { Approval, ApprovalStatus } from './approval.ts';

/** How long a row is kept after it expired (for its user's list and the API), before it is deleted. */
const KEEP_AFTER_EXPIRY_MS = 24 * 3600 * 1000;

/**
 * Approvals in the state database (`gateway.state_db`, SQLite, WAL), table `approvals`. Every state
 * change is one conditional UPDATE, so two gateway requests (or two gateway processes on one file)
 * racing for the same approval cannot both win: SQLite serialises writers, and the condition is
 * re-evaluated by the one that goes second.
 */
export class ApprovalStore {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<Record<string, unknown>>;
  readonly #get: Database.Statement<[string], ApprovalRow>;
  readonly #pendingFor: Database.Statement<[string, number], ApprovalRow>;
  readonly #decide: Database.Statement<[ApprovalStatus, number, string, string, string, number]>;
  readonly #use: Database.Statement<[number, string, number]>;
  readonly #release: Database.Statement<[string, number]>;
  readonly #prune: Database.Statement<[number]>;
  readonly #pendingCount: Database.Statement<[string, number], { n: number }>;
  readonly #undecide: Database.Statement<[string, number]>;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO approvals (id, status, user, agent_chain, action, resource_type, resource_id, method, target,
         body, digest, policy_revision, txn, intent, created_at_ms, expires_at_ms, correlation_id)
       VALUES (@id, 'pending', @user, @agent_chain, @action, @resource_type, @resource_id, @method, @target,
         @body, @digest, @policy_revision, @txn, @intent, @created_at_ms, @expires_at_ms, @correlation_id)`,
    );
    this.#get = db.prepare('SELECT * FROM approvals WHERE id = ?');
    this.#pendingFor = db.prepare(
      "SELECT * FROM approvals WHERE user = ? AND status = 'pending' AND expires_at_ms > ? ORDER BY created_at_ms",
    );
    this.#decide = db.prepare(
      `UPDATE approvals SET status = ?, decided_at_ms = ?, decided_by = ?
       WHERE id = ? AND user = ? AND status = 'pending' AND expires_at_ms > ?`,
    );
    this.#use = db.prepare(
      `UPDATE approvals SET used_at_ms = ?
       WHERE id = ? AND status = 'approved' AND used_at_ms IS NULL AND expires_at_ms > ?`,
    );
    // Only the use made at `used_at_ms` is undone: while it stands, no other call can have taken it.
    this.#release = db.prepare('UPDATE approvals SET used_at_ms = NULL WHERE id = ? AND used_at_ms = ?');
    this.#prune = db.prepare('DELETE FROM approvals WHERE expires_at_ms < ?');
    this.#undecide = db.prepare(
      `UPDATE approvals SET status = 'pending', decided_at_ms = NULL, decided_by = NULL
       WHERE id = ? AND decided_at_ms = ? AND used_at_ms IS NULL`,
    );
    this.#pendingCount = db.prepare(
      "SELECT count(*) AS n FROM approvals WHERE user = ? AND status = 'pending' AND expires_at_ms > ?",
    );
  }

  /**
   * Opens (creating if needed) the database, its folder and its table. Throws if it cannot. FULL (see
   * openStateDb): a use that is lost after the call went upstream would let the approval be used again.
   */
  static open(file: string, options: { busyTimeoutMs?: number } = {}): ApprovalStore {
    return openStateDb(file, schemaSql, (db) => new ApprovalStore(db), options);
  }

  /** Stores a new pending approval (committed when this returns), pruning long-expired ones. */
  insert(a: Omit<Approval, 'status' | 'decidedAtMs' | 'decidedBy' | 'usedAtMs'>): void {
    this.#prune.run(a.createdAtMs - KEEP_AFTER_EXPIRY_MS);
    this.#insert.run({
      id: a.id,
      user: a.user,
      agent_chain: JSON.stringify(a.agentChain),
      action: a.action,
      resource_type: a.resourceType,
      resource_id: a.resourceId,
      method: a.method,
      target: a.target,
      body: a.body,
      digest: a.digest,
      policy_revision: a.policyRevision,
      txn: a.txn,
      intent: a.intent,
      created_at_ms: a.createdAtMs,
      expires_at_ms: a.expiresAtMs,
      correlation_id: a.correlationId,
    });
  }

  get(id: string): Approval | undefined {
    const row = this.#get.get(id);
    return row === undefined ? undefined : fromRow(row);
  }

  /** Takes back the decision made at `decidedAtMs` (its audit event could not be written), unless used. */
  undecide(id: string, decidedAtMs: number): boolean {
    return this.#undecide.run(id, decidedAtMs).changes === 1;
  }

  /** How many approvals wait for the user right now (pending and unexpired). */
  pendingCount(user: string, nowMs: number): number {
    return this.#pendingCount.get(user, nowMs)!.n;
  }

  /** The user's approvals still waiting for her, oldest first. */
  pendingFor(user: string, nowMs: number): Approval[] {
    return this.#pendingFor.all(user, nowMs).map(fromRow);
  }

  /** Approves or rejects a pending, unexpired approval of `user`; false when it was not one. */
  decide(id: string, user: string, status: 'approved' | 'rejected', nowMs: number): boolean {
    return this.#decide.run(status, nowMs, user, id, user, nowMs).changes === 1;
  }

  /** Marks an approved, unexpired, unused approval used; false when another call used it first (or it expired). */
  use(id: string, nowMs: number): boolean {
    return this.#use.run(nowMs, id, nowMs).changes === 1;
  }

  /**
   * Undoes the use made at `usedAtMs` (see `use`), for a call refused after it took the approval and
   * before anything went upstream; the approval can then be used by a retry. False when it was not
   * that use (already released, or pruned).
   */
  release(id: string, usedAtMs: number): boolean {
    return this.#release.run(id, usedAtMs).changes === 1;
  }

  close(): void {
    this.#db.close();
  }
}

interface ApprovalRow {
  id: string;
  status: ApprovalStatus;
  user: string;
  agent_chain: string;
  action: string;
  resource_type: string;
  resource_id: string | null;
  method: string;
  target: string;
  body: Buffer | null;
  digest: string;
  policy_revision: string;
  txn: string | null;
  intent: string | null;
  created_at_ms: number;
  expires_at_ms: number;
  decided_at_ms: number | null;
  decided_by: string | null;
  used_at_ms: number | null;
  correlation_id: string;
}

const fromRow = (r: ApprovalRow): Approval => ({
  id: r.id,
  status: r.status,
  user: r.user,
  agentChain: JSON.parse(r.agent_chain) as Approval['agentChain'],
  action: r.action,
  resourceType: r.resource_type,
  resourceId: r.resource_id,
  method: r.method,
  target: r.target,
  body: r.body,
  digest: r.digest,
  policyRevision: r.policy_revision,
  txn: r.txn,
  intent: r.intent,
  createdAtMs: r.created_at_ms,
  expiresAtMs: r.expires_at_ms,
  decidedAtMs: r.decided_at_ms,
  decidedBy: r.decided_by,
  usedAtMs: r.used_at_ms,
  correlationId: r.correlation_id,
});

// STRICT and CHECK: a decision without its decider, or a use of an undecided approval, cannot be stored.
const schemaSql = `
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  user TEXT NOT NULL,
  agent_chain TEXT NOT NULL,
  action TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_id TEXT,
  method TEXT NOT NULL,
  target TEXT NOT NULL,
  body BLOB,
  digest TEXT NOT NULL,
  policy_revision TEXT NOT NULL,
  txn TEXT,
  intent TEXT,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  decided_at_ms INTEGER CHECK ((decided_at_ms IS NULL) = (status = 'pending')),
  decided_by TEXT CHECK ((decided_by IS NULL) = (status = 'pending')),
  used_at_ms INTEGER CHECK (used_at_ms IS NULL OR status = 'approved'),
  correlation_id TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS approvals_pending ON approvals (user, status, expires_at_ms);
CREATE INDEX IF NOT EXISTS approvals_expiry ON approvals (expires_at_ms);
`;
