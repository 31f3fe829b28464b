import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { type AuditFilter, queryEvents } from '../../../gateway/pipeline/6-audit/query.ts';
import { columnNames } from '../../../gateway/pipeline/6-audit/schema.ts';
import { AuditStore } from '../../../gateway/pipeline/6-audit/store.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent, runMandate } from './fixtures.ts';

const dir = tempDir('mandate-');
const file = join(dir, 'audit.db');

before(() => {
  const store = AuditStore.open(file);
  const at = (second: number) => `2026-07-01T10:00:0${second}.000Z`;
  // seq 1, 2: an allowed call (decision + outcome).
  store.append(auditEvent({ time: at(1), correlationId: 'c1', txn: 't1', resourceId: 'po-1' }));
  store.append(
    auditEvent({ kind: 'outcome', time: at(2), correlationId: 'c1', txn: 't1', resourceId: 'po-1', status: 201 }),
  );
  // seq 3: a policy denial.
  store.append(
    auditEvent({
      kind: 'denial',
      time: at(3),
      correlationId: 'c3',
      user: 'bob@example.com',
      agent: 'finance-bot',
      actorChain: [{ sub: 'finance-bot' }],
      txn: 't2',
      action: 'invoice.read',
      resourceType: 'invoice',
      resourceId: 'inv-7',
      decision: 'deny',
      reason: 'authz.denied',
      policyReasons: ['not the owner'],
      status: 403,
    }),
  );
  // seq 4: a token refused before anyone is known.
  store.append(
    auditEvent({
      kind: 'denial',
      time: at(4),
      correlationId: 'c4',
      user: null,
      agent: null,
      actorChain: null,
      jti: null,
      tokenHash: null,
      txn: null,
      authorizationDetails: null,
      intent: null,
      action: null,
      resourceType: null,
      resourceId: null,
      backend: null,
      decision: 'deny',
      reason: 'authn.token_expired',
      policyRevision: null,
      credential: null,
      status: 401,
    }),
  );
  // seq 5: a resource id containing colons, and values that need escaping or quoting.
  store.append(
    auditEvent({
      time: at(5),
      correlationId: 'c5',
      user: 'carol\u001b[2J\u202e',
      txn: 't3',
      action: 'doc.read',
      resourceType: 'doc',
      resourceId: 'urn:doc:9',
      intent: 'Buy "two", then\nship',
      status: 200,
      durationMs: 3.25,
    }),
  );
  store.close();
});

const seqs = (filter: Partial<AuditFilter>) => queryEvents(file, { limit: 100, ...filter }).map((row) => row.seq);

test('without filters: every event, oldest first', () => {
  assert.deepEqual(seqs({}), [1, 2, 3, 4, 5]);
});

test('each filter selects exactly the matching events', () => {
  assert.deepEqual(seqs({ user: 'alice@example.com' }), [1, 2]);
  assert.deepEqual(seqs({ agent: 'procurement-bot' }), [1, 2, 5]);
  assert.deepEqual(seqs({ action: 'invoice.read' }), [3]);
  assert.deepEqual(seqs({ txn: 't2' }), [3]);
  assert.deepEqual(seqs({ correlationId: 'c1' }), [1, 2]);
  assert.deepEqual(seqs({ decision: 'deny' }), [3, 4]);
  assert.deepEqual(seqs({ kind: 'outcome' }), [2]);
});

test('--resource takes type:id or a bare id, and ids may contain colons', () => {
  assert.deepEqual(seqs({ resource: 'purchase_order:po-1' }), [1, 2]);
  assert.deepEqual(seqs({ resource: 'po-1' }), [1, 2]);
  assert.deepEqual(seqs({ resource: 'invoice:po-1' }), []);
  assert.deepEqual(seqs({ resource: 'doc:urn:doc:9' }), [5]);
  assert.deepEqual(seqs({ resource: 'urn:doc:9' }), [5]);
});

test('since is inclusive, until exclusive', () => {
  assert.deepEqual(seqs({ since: new Date('2026-07-01T10:00:03Z') }), [3, 4, 5]);
  assert.deepEqual(seqs({ until: new Date('2026-07-01T10:00:03Z') }), [1, 2]);
  assert.deepEqual(seqs({ since: new Date('2026-07-01T10:00:02Z'), until: new Date('2026-07-01T10:00:04Z') }), [2, 3]);
});

test('filters combine with AND; limit keeps the most recent', () => {
  assert.deepEqual(seqs({ agent: 'procurement-bot', kind: 'decision', decision: 'allow' }), [1, 5]);
  assert.deepEqual(seqs({ limit: 2 }), [4, 5]);
});

test('filter values are data, never SQL', () => {
  assert.deepEqual(seqs({ user: "' OR '1'='1" }), []);
  assert.deepEqual(seqs({ resource: "x' OR 1=1 --:y" }), []);
});

const query = (...args: string[]) => runMandate(['audit', 'query', '--db', file, ...args]);

test('table format: aligned columns, null as -, control and bidi characters escaped', () => {
  const result = query('--since', '2026-07-01T10:00:03');
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 4);
  const [header, denial, expired, carol] = lines as [string, string, string, string];
  assert.match(header, /^seq +time +kind +decision +status +user +agent +action +resource +reason$/);
  for (const [column, line, value] of [
    ['kind', denial, 'denial'],
    ['user', denial, 'bob@example.com'],
    ['resource', denial, 'invoice:inv-7'],
    ['reason', denial, 'authz.denied'],
    ['user', expired, '-'],
    ['reason', expired, 'authn.token_expired'],
    ['user', carol, 'carol\\u001b[2J\\u202e'],
    ['resource', carol, 'doc:urn:doc:9'],
  ] as const) {
    const at = header.indexOf(column);
    assert.equal(line.slice(at, at + value.length), value, `${column} column of "${line}"`);
  }
  for (const raw of ['\u001b', '\u202e']) assert.ok(!result.stdout.includes(raw), 'no raw escape or bidi override');
});

test('json format: every column, JSON columns parsed', () => {
  const result = query('--format', 'json', '--txn', 't2');
  assert.equal(result.status, 0, result.stderr);
  const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
  assert.equal(rows.length, 1);
  const row = rows[0] as Record<string, unknown>;
  assert.deepEqual(Object.keys(row), columnNames);
  assert.equal(row.seq, 3);
  assert.equal(row.user, 'bob@example.com');
  assert.deepEqual(row.actor_chain, [{ sub: 'finance-bot' }]);
  assert.deepEqual(row.authorization_details, [{ type: 'purchase_order', actions: ['create'], limit: 5000 }]);
  assert.deepEqual(row.policy_reasons, ['not the owner']);
  assert.equal(row.status, 403);
  assert.equal(row.duration_ms, null);
  assert.match(String(row.hash), /^[0-9a-f]{64}$/);
});

test('csv format: RFC 4180 quoting, every column, CRLF', () => {
  const result = query('--format', 'csv', '--resource', 'urn:doc:9');
  assert.equal(result.status, 0, result.stderr);
  const [header, row, ...rest] = parseCsv(result.stdout);
  assert.deepEqual(header, columnNames);
  assert.deepEqual(rest, []);
  const field = (name: string) => row?.[columnNames.indexOf(name as (typeof columnNames)[number])];
  assert.equal(field('seq'), '5');
  assert.equal(field('user'), 'carol\u001b[2J\u202e', 'csv keeps values exactly as stored');
  assert.equal(field('intent'), 'Buy "two", then\nship');
  assert.equal(field('actor_chain'), '[{"sub":"procurement-bot","iss":"https://idp.example.com"}]');
  assert.equal(field('reason'), '');
  assert.equal(field('duration_ms'), '3.25');
  assert.ok(result.stdout.includes('"Buy ""two"", then\nship"'));
  assert.ok(result.stdout.startsWith(`${columnNames.join(',')}\r\n`));
});

test('bad arguments or an unreadable database: exit 2', () => {
  assert.equal(runMandate(['audit', 'query']).status, 2);
  assert.equal(query('--limit', '0').status, 2);
  assert.equal(query('--since', 'yesterday').status, 2);
  assert.equal(query('--decision', 'maybe').status, 2);
  assert.equal(query('--format', 'xml').status, 2);
  assert.equal(query('--unknown', 'x').status, 2);
  assert.equal(runMandate(['audit', 'query', '--db', join(dir, 'absent.db')]).status, 2);
});

test('no match prints just the header', () => {
  const result = query('--user', 'nobody');
  assert.equal(result.status, 0);
  assert.match(result.stdout, /^seq +time .*reason\n$/);
});

/** Minimal RFC 4180 reader: records end with CRLF, quoted fields may hold anything. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let fieldText = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      fieldText += text.slice(i + 1, end);
      i = end + 1;
      if (text[i] === '"') fieldText += '"';
    } else if (text.startsWith('\r\n', i) || text[i] === ',') {
      record.push(fieldText);
      fieldText = '';
      if (text[i] === '\r') {
        records.push(record);
        record = [];
        i += 1;
      }
      i += 1;
    } else {
      fieldText += text[i];
      i += 1;
    }
  }
  return records;
}
