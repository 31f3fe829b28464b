import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ChainedFields } from './row.ts';

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
  const canonical = canonicalize(fields);
  if (canonical === undefined) throw new TypeError('audit fields have no canonical JSON form');
  return hash('sha256', `${prevHash}\n${canonical}`, 'hex');
}
