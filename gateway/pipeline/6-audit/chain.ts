import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { type ChainedFields, chainedColumns, chainedFieldsOf, ROW } from './row.ts';

/** `prev_hash` of the first event (seq 1). */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hash that links an audit row to the one before it — the only definition, shared by the store,
 * `verify` and any exporter:
 *
 *   hash = hex(SHA-256(prev_hash + "\n" + JCS(fields)))
 *
 * where JCS is RFC 8785 canonical JSON of the row's snake_case columns as stored, `seq` included,
 * `prev_hash` and `hash` excluded. Canonical JSON means re-encoding a row can never change its hash,
 * while changing any value (or its type: `"200"` is not `200`) always does. Including `seq` makes a
 * renumbered row fail; including `prev_hash` makes a deleted, inserted or reordered row fail.
 *
 * Throws if `fields` has no JSON form (e.g. a lone surrogate or a non-finite number).
 */
export function chainHash(prevHash: string, fields: ChainedFields): string {
  return rowChainHash(
    prevHash,
    chainedColumns.map((c) => fields[c]),
  );
}

/**
 * `chainHash` of a row in positional form (row.ts `RowValues`: the store's appends, verify's scans).
 *
 * RFC 8785 of an object whose values are all null, well-formed strings or finite numbers (every row
 * the store writes) is JSON.stringify of an object holding them with its keys in sorted order, and
 * `canonicalObject` is that object: one literal, a fixed shape V8 builds and serialises quickly
 * (measured 1.2 µs per row, against 2.4 µs appending `,"key":value` pieces). Anything else (a nested
 * value, a lone surrogate, an infinity) goes to `canonicalize`, which encodes or refuses it.
 * test/unit/6-audit/chain.test.ts pins the bytes.
 */
export function rowChainHash(prevHash: string, row: readonly unknown[]): string {
  let flat = true;
  for (let i = 0; i < ROW.prevHash; i++) {
    const value = row[i];
    if (
      value !== null &&
      !(typeof value === 'string' && value.isWellFormed()) &&
      !(typeof value === 'number' && Number.isFinite(value))
    ) {
      flat = false;
      break;
    }
  }
  const canonical = flat ? JSON.stringify(canonicalObject(row)) : canonicalize(chainedFieldsOf(row));
  if (canonical === undefined) throw new TypeError('audit fields have no canonical JSON form');
  return hash('sha256', `${prevHash}\n${canonical}`, 'hex');
}

// Its keys are `chainedColumns`, in order, so r[i] is slot i; the check below stops a new column
// from being silently left out.
const canonicalObject = (r: readonly unknown[]) => ({
  action: r[0],
  actor_chain: r[1],
  agent: r[2],
  authorization_details: r[3],
  backend: r[4],
  bytes_in: r[5],
  bytes_out: r[6],
  correlation_id: r[7],
  credential: r[8],
  decision: r[9],
  detail: r[10],
  duration_ms: r[11],
  intent: r[12],
  jti: r[13],
  kind: r[14],
  method: r[15],
  path: r[16],
  policy_reasons: r[17],
  policy_revision: r[18],
  reason: r[19],
  resource_id: r[20],
  resource_type: r[21],
  seq: r[22],
  status: r[23],
  time: r[24],
  token_hash: r[25],
  txn: r[26],
  user: r[27],
});
if (Object.keys(canonicalObject([])).join() !== chainedColumns.join())
  throw new Error('chain.ts: canonicalObject does not list the chained columns in order');
