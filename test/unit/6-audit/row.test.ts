import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainHash, rowChainHash } from '../../../gateway/pipeline/6-audit/chain.ts';
import { chainedColumns, chainedFieldsOf, ROW, toChainedFields, toRow } from '../../../gateway/pipeline/6-audit/row.ts';
import { columnNames } from '../../../gateway/pipeline/6-audit/schema.ts';
import { auditEvent } from './fixtures.ts';

// Every field a value no other field has, so a value in the wrong slot cannot go unnoticed.
const event = auditEvent({
  kind: 'outcome',
  time: '2026-07-01T10:00:00.123Z',
  correlationId: 'trace-1',
  user: 'alice',
  agent: 'bot',
  actorChain: [{ sub: 'bot', iss: 'https://idp' }],
  jti: 'jti-9',
  tokenHash: 'token-hash',
  txn: 'task-9',
  authorizationDetails: [{ type: 'contract', actions: ['cancel'] }],
  intent: 'cancel 12345',
  action: 'contract.cancel',
  resourceType: 'contract',
  resourceId: '12345',
  method: 'POST',
  path: '/contracts/12345/cancel',
  backend: 'procurement',
  decision: 'allow',
  reason: 'forward.timeout',
  policyReasons: ['why'],
  policyRevision: 'rev-9',
  credential: 'cred',
  status: 504,
  durationMs: 12.5,
  bytesIn: 3,
  bytesOut: 4,
  detail: { body_sha256: 'body' },
});

test('toRow puts each event field in its column, in RFC 8785 key order', () => {
  const row = toRow(event);
  assert.equal(row.length, columnNames.length);
  assert.deepEqual(chainedColumns, columnNames.filter((c) => c !== 'prev_hash' && c !== 'hash').sort());
  // Written out by hand, column by column, independent of toRow's literal.
  assert.deepEqual(chainedFieldsOf(row), {
    action: 'contract.cancel',
    actor_chain: '[{"sub":"bot","iss":"https://idp"}]',
    agent: 'bot',
    authorization_details: '[{"type":"contract","actions":["cancel"]}]',
    backend: 'procurement',
    bytes_in: 3,
    bytes_out: 4,
    correlation_id: 'trace-1',
    credential: 'cred',
    decision: 'allow',
    detail: '{"body_sha256":"body"}',
    duration_ms: 12.5,
    intent: 'cancel 12345',
    jti: 'jti-9',
    kind: 'outcome',
    method: 'POST',
    path: '/contracts/12345/cancel',
    policy_reasons: '["why"]',
    policy_revision: 'rev-9',
    reason: 'forward.timeout',
    resource_id: '12345',
    resource_type: 'contract',
    seq: null,
    status: 504,
    time: '2026-07-01T10:00:00.123Z',
    token_hash: 'token-hash',
    txn: 'task-9',
    user: 'alice',
  });
  assert.deepEqual([row[ROW.prevHash], row[ROW.hash]], [null, null]);
});

test('values are normalised as SQLite will give them back: lone surrogates replaced, non-finite numbers null', () => {
  const fields = toChainedFields(auditEvent({ intent: 'lone \ud800', durationMs: Number.NaN, bytesOut: 1 / 0 }), 5);
  assert.equal(fields.intent, 'lone \ufffd');
  assert.equal(fields.duration_ms, null);
  assert.equal(fields.bytes_out, null);
  assert.equal(fields.seq, 5);
});

test('a row hashes as its fields do, whichever form the hash is given', () => {
  const row = toRow(event);
  row[ROW.seq] = 42;
  assert.equal(rowChainHash('f'.repeat(64), row), chainHash('f'.repeat(64), toChainedFields(event, 42)));
});
