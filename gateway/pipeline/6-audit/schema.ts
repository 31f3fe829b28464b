import type { AuditRow } from './row.ts';

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
export const schemaSql = `
CREATE TABLE IF NOT EXISTS events (
  ${Object.entries(columns)
    .map(([name, type]) => `${name} ${type}`)
    .join(',\n  ')}
) STRICT;

CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- One index per \`mandate audit query\` filter. (resource_id, resource_type) serves both
-- --resource ID and --resource TYPE:ID.
CREATE INDEX IF NOT EXISTS events_user ON events (user);
CREATE INDEX IF NOT EXISTS events_agent ON events (agent);
CREATE INDEX IF NOT EXISTS events_action ON events (action);
CREATE INDEX IF NOT EXISTS events_resource ON events (resource_id, resource_type);
CREATE INDEX IF NOT EXISTS events_txn ON events (txn);
CREATE INDEX IF NOT EXISTS events_correlation_id ON events (correlation_id);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
`;
