import type { AuditRow } from './row.ts';
import { viewsSql } from './views.ts';

/**
 * The `events` table, column by column, in stored order. `satisfies` keeps it in step with `AuditRow`:
 * a column missing here, or one `AuditRow` does not know, fails the typecheck.
 *
 * STRICT makes SQLite refuse a value of the wrong type instead of silently converting it, so a bug
 * fails the append (and the request, closed) rather than writing a row whose stored value differs
 * from the value that was hashed.
 */
const columns = {
  seq: 'INTEGER PRIMARY KEY',
  time: 'TEXT NOT NULL',
  correlation_id: 'TEXT NOT NULL',
  kind: "TEXT NOT NULL CHECK (kind GLOB '[a-z]*' AND kind NOT GLOB '*[^a-z_]*')",
  user: 'TEXT',
  agent: 'TEXT',
  actor_chain: 'TEXT',
  jti: 'TEXT',
  token_hash: 'TEXT',
  txn: 'TEXT',
  authorization_details: 'TEXT',
  intent: 'TEXT',
  action: 'TEXT',
  resource_type: 'TEXT',
  resource_id: 'TEXT',
  method: 'TEXT NOT NULL',
  path: 'TEXT NOT NULL',
  backend: 'TEXT',
  decision: "TEXT CHECK (decision IN ('allow', 'deny'))",
  reason: 'TEXT',
  policy_reasons: 'TEXT NOT NULL',
  policy_revision: 'TEXT',
  credential: 'TEXT',
  status: 'INTEGER',
  duration_ms: 'REAL',
  bytes_in: 'INTEGER',
  bytes_out: 'INTEGER',
  detail: 'TEXT',
  prev_hash: 'TEXT NOT NULL',
  hash: 'TEXT NOT NULL',
} as const satisfies Record<keyof AuditRow, string>;

/** Every column of `events`, in stored order. */
export const columnNames = Object.keys(columns) as readonly (keyof AuditRow)[];

/**
 * Idempotent DDL, run on every open. Re-running it also reinstalls the append-only triggers if
 * someone dropped them — which stops accidents, not attackers: whoever can write the file can drop
 * them again, and that is what the hash chain is for.
 */
const columnsSql = Object.entries(columns)
  .map(([name, type]) => `${name} ${type}`)
  .join(',\n  ');

export const schemaSql = `
CREATE TABLE IF NOT EXISTS events (
  ${columnsSql}
) STRICT;

CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- Indexes for the auditors' questions (query.ts; README "Query speed"), measured at 10 million events.
-- Each costs every append an index entry, the random keys (txn, correlation_id, resource, user) the
-- most (scripts/bench-audit-insert.ts). A single-column index lists a key's rows in seq order, so
-- "the latest N of this user/agent/action" reads N rows; query.ts steers windows to the better index.
--   (user)  agent-activity and user searches;  (agent), (action)  searches;
--   (resource_id, resource_type, time)  resource-access: --resource ID or TYPE:ID, a window seeks on time;
--   (txn)  task;  (correlation_id)  correlation, and the calls view pairing a decision with its outcome;
--   (time)  time windows.
-- The index it replaces is dropped, so an existing database does not pay for both.
DROP INDEX IF EXISTS events_resource;
CREATE INDEX IF NOT EXISTS events_user ON events (user);
CREATE INDEX IF NOT EXISTS events_agent ON events (agent);
CREATE INDEX IF NOT EXISTS events_action ON events (action);
CREATE INDEX IF NOT EXISTS events_resource_time ON events (resource_id, resource_type, time);
CREATE INDEX IF NOT EXISTS events_txn ON events (txn);
CREATE INDEX IF NOT EXISTS events_correlation_id ON events (correlation_id);
CREATE INDEX IF NOT EXISTS events_time ON events (time);

-- The newest events, not indexed yet (recent-events.ts): appends land here, and the writer moves them
-- into events, a prefix at a time, within a fraction of a second. A row leaves only for events.
CREATE TABLE IF NOT EXISTS recent_events (
  ${columnsSql}
) STRICT;
CREATE TRIGGER IF NOT EXISTS recent_events_no_update BEFORE UPDATE ON recent_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS recent_events_moved_only BEFORE DELETE ON recent_events
WHEN NOT EXISTS (SELECT 1 FROM events WHERE seq = OLD.seq AND hash = OLD.hash)
BEGIN SELECT RAISE(ABORT, 'audit events are append-only: a recent event leaves only for events'); END;

-- Auditors' views (views.ts): readable columns over events, outside the chain, recreated on open.
${viewsSql}
-- Signed checkpoints (checkpoint.ts): append-only like events. The copy that matters for truncation
-- is the one appended to the external checkpoint file; this one travels with the database.
CREATE TABLE IF NOT EXISTS checkpoints (
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  time TEXT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;

-- Where this file's chain begins (segments.ts): empty for the first file (seq 0, 64 zeros); after a
-- rotation, the new active file's one row holds the sealed segment's last seq and hash.
CREATE TABLE IF NOT EXISTS chain_start (seq INTEGER NOT NULL, hash TEXT NOT NULL) STRICT;
CREATE TRIGGER IF NOT EXISTS chain_start_no_update BEFORE UPDATE ON chain_start
BEGIN SELECT RAISE(ABORT, 'the chain start is fixed'); END;
CREATE TRIGGER IF NOT EXISTS chain_start_no_delete BEFORE DELETE ON chain_start
BEGIN SELECT RAISE(ABORT, 'the chain start is fixed'); END;
`;
