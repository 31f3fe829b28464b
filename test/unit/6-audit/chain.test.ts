import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import canonicalize from 'canonicalize';
import { chainHash, GENESIS_HASH } from '../../../gateway/pipeline/6-audit/chain.ts';
import { toChainedFields } from '../../../gateway/pipeline/6-audit/row.ts';
import { auditEvent } from './fixtures.ts';

const event = auditEvent({
  kind: 'denial',
  actorChain: [{ sub: 'bot' }],
  authorizationDetails: null,
  intent: 'é "quoted"',
  decision: 'deny',
  reason: 'authz.denied',
  policyReasons: ['over budget'],
  status: 403,
  durationMs: 1.5,
});

// Written out by hand (RFC 8785: keys in UTF-16 order, no whitespace), so that any change to the
// encoding — which would make every existing audit log fail verification — fails here first.
const canonical =
  '{"action":"purchase_order.create","actor_chain":"[{\\"sub\\":\\"bot\\"}]","agent":"procurement-bot",' +
  '"authorization_details":null,"backend":"procurement","bytes_in":null,"bytes_out":null,' +
  '"correlation_id":"4bf92f3577b34da6a3ce929d0e0e4736","credential":"procurement-api-key","decision":"deny","detail":null,' +
  '"duration_ms":1.5,"intent":"é \\"quoted\\"","jti":"jti-1","kind":"denial","method":"POST","path":"/api/orders",' +
  '"policy_reasons":"[\\"over budget\\"]","policy_revision":"rev-1","reason":"authz.denied","resource_id":"po-1001",' +
  '"resource_type":"purchase_order","seq":7,"status":403,"time":"2026-07-01T10:00:00.000Z",' +
  `"token_hash":"${'a'.repeat(64)}","txn":"task-42","user":"alice@example.com"}`;

test('the hash is SHA-256 over prev_hash, a newline and the RFC 8785 JSON of the stored fields', () => {
  const prevHash = 'f'.repeat(64);
  const expected = createHash('sha256').update(`${prevHash}\n${canonical}`, 'utf8').digest('hex');
  assert.equal(chainHash(prevHash, toChainedFields(event, 7)), expected);
});

test('the genesis prev_hash is 64 zeros', () => {
  assert.equal(GENESIS_HASH, '0'.repeat(64));
});

test('any change to a field, the seq or the previous hash changes the hash', () => {
  const base = chainHash(GENESIS_HASH, toChainedFields(event, 1));
  assert.notEqual(chainHash(GENESIS_HASH, toChainedFields(auditEvent({ ...event, status: 200 }), 1)), base);
  assert.notEqual(chainHash(GENESIS_HASH, toChainedFields(event, 2)), base);
  assert.notEqual(chainHash('1'.repeat(64), toChainedFields(event, 1)), base);
  // The type is part of the value: a number replaced by the same digits as text is a change.
  assert.notEqual(chainHash(GENESIS_HASH, { ...toChainedFields(event, 1), status: '403' as unknown as number }), base);
});

test('every string is encoded as RFC 8785 encodes it, whether or not it needs escaping', () => {
  const fields = toChainedFields(event, 3);
  const strings = [
    'plain',
    'tab\there',
    'line\nbreak',
    '\u0000',
    '\u001f',
    '\u007f',
    'back\\slash',
    'quo"te',
    '\u2028\u2029',
    'é',
    '😀',
    '',
  ];
  for (const value of strings) {
    const row = { ...fields, intent: value, path: `/x/${value}` };
    const expected = createHash('sha256')
      .update(`${GENESIS_HASH}\n${canonicalize(row)}`, 'utf8')
      .digest('hex');
    assert.equal(chainHash(GENESIS_HASH, row), expected, JSON.stringify(value));
  }
  // No JSON form at all (row.ts replaces lone surrogates before hashing): refused, never encoded.
  assert.throws(() => chainHash(GENESIS_HASH, { ...fields, intent: 'lone \ud800' }));
});
