import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import Database from 'better-sqlite3';
import { taskEndedEvent, taskStateEvent } from '../../../gateway/limits/task-event.ts';
import { callColumns } from '../../../gateway/pipeline/6-audit/calls.ts';
import { type AuditEvent, auditKinds } from '../../../gateway/pipeline/6-audit/event.ts';
import { openAuditReader, searchCalls } from '../../../gateway/pipeline/6-audit/query.ts';
import { AuditStore } from '../../../gateway/pipeline/6-audit/store.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent, runMandate } from './fixtures.ts';

const dir = tempDir('mandate-');
const file = join(dir, 'audit.db');

const at = (second: number) => `2026-03-14T10:00:${String(second).padStart(2, '0')}.000Z`;
const customer = (id: string, o: Partial<AuditEvent>) =>
  auditEvent({
    action: 'crm.customer.read',
    resourceType: 'customer',
    resourceId: id,
    method: 'GET',
    path: `/crm/${id}`,
    ...o,
  });

before(() => {
  const store = AuditStore.open(file);
  const events: AuditEvent[] = [
    // 1: the token for task t1.
    auditEvent({
      kind: 'token_issued',
      time: at(1),
      correlationId: 'tok1',
      txn: 't1',
      action: null,
      resourceType: null,
      resourceId: null,
      method: 'POST',
      path: '/oauth2/token',
      status: 200,
      detail: { granted_scope: 'crm:read' },
    }),
    // 2, 4: two calls on one trace (the agent continued it), interleaved: 2+3 and 4+5 pair by path.
    customer('9821', { time: at(2), correlationId: 'trace-a', txn: 't1' }),
    customer('9822', { time: at(3), correlationId: 'trace-a', txn: 't1' }),
    customer('9821', { kind: 'outcome', time: at(4), correlationId: 'trace-a', txn: 't1', status: 200 }),
    customer('9822', { kind: 'outcome', time: at(5), correlationId: 'trace-a', txn: 't1', status: 404 }),
    // 6: a refusal of another user's agent on customer 9821.
    customer('9821', {
      kind: 'denial',
      time: at(6),
      correlationId: 'c6',
      user: 'bob',
      agent: 'support-bot',
      txn: 't2',
      decision: 'deny',
      reason: 'authz.denied',
      policyReasons: ['region.mismatch'],
      status: 403,
    }),
    // 7: an allowed call whose outcome was never written (the gateway died).
    customer('9821', { time: at(7), correlationId: 'c7', txn: 't3' }),
    // 8: the next day.
    customer('9821', { time: '2026-03-15T09:00:00.000Z', correlationId: 'c8', txn: 't4' }),
  ];
  for (const event of events) store.append(event);
  store.close();
});

test('calls: one row per call; decision and outcome paired by correlation id and path; refusals as they are', () => {
  const db = openAuditReader(file);
  try {
    const rows = searchCalls(db, { limit: undefined });
    assert.deepEqual(
      rows.map((r) => [r.seq, r.resource, r.decision, r.status, r.outcome_seq, r.user]),
      [
        [2, 'customer:9821', 'allow', 200, 4, 'alice@example.com'],
        [3, 'customer:9822', 'allow', 404, 5, 'alice@example.com'],
        [6, 'customer:9821', 'deny', 403, null, 'bob'],
        [7, 'customer:9821', 'allow', null, null, 'alice@example.com'],
        [8, 'customer:9821', 'allow', null, null, 'alice@example.com'],
      ],
    );
    assert.equal(rows[0]!.finished, at(4));
    assert.equal(rows[2]!.reason, 'authz.denied');
  } finally {
    db.close();
  }
});

test('views are readable with plain SQL: refusals, token_events, task_timeline', () => {
  const db = new Database(file, { readonly: true });
  try {
    assert.deepEqual(db.prepare('SELECT seq, reason, policy_reasons FROM refusals').all(), [
      { seq: 6, reason: 'authz.denied', policy_reasons: '["region.mismatch"]' },
    ]);
    assert.deepEqual(
      db.prepare("SELECT seq, kind, json_extract(detail, '$.granted_scope') AS g FROM token_events").all(),
      [{ seq: 1, kind: 'token_issued', g: 'crm:read' }],
    );
    const steps = db.prepare("SELECT step FROM task_timeline WHERE txn = 't1' ORDER BY seq").pluck().all();
    assert.deepEqual(steps, [
      'token issued to procurement-bot',
      'allowed crm.customer.read',
      'allowed crm.customer.read',
      'backend answered 200',
      'backend answered 404',
    ]);
  } finally {
    db.close();
  }
});

test('views are recreated when the store opens, so a dropped or stale view comes back', () => {
  const db = new Database(file);
  db.exec('DROP VIEW calls');
  db.close();
  AuditStore.open(file).close();
  const reader = openAuditReader(file);
  try {
    assert.equal(searchCalls(reader, { limit: 1 }).length, 1);
  } finally {
    reader.close();
  }
});

const ask = (...args: string[]) => runMandate(['audit', 'query', '--db', file, ...args]);

test('resource-access: who accessed customer 9821 that day, on whose behalf — one row per call', () => {
  const result = ask(
    'resource-access',
    '--resource',
    'customer:9821',
    '--since',
    '2026-03-14',
    '--until',
    '2026-03-15',
  );
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^seq +time +user +agent +action +resource +decision +status +reason +txn$/);
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(/ {2,}/).slice(0, 1)),
    [['2'], ['6'], ['7']],
  );
  assert.match(lines[2]!, /bob +support-bot .* deny +403 +authz\.denied +t2$/);

  const json = JSON.parse(ask('resource-access', '--resource', 'customer:9821', '--format', 'json').stdout);
  assert.deepEqual(Object.keys(json[0]), callColumns);
  assert.deepEqual(json[0].actor_chain, [{ sub: 'procurement-bot', iss: 'https://idp.example.com' }]);
  const csv = ask('resource-access', '--resource', '9821', '--format', 'csv').stdout;
  assert.ok(csv.startsWith(`${callColumns.join(',')}\r\n`));
  assert.equal(csv.trimEnd().split('\r\n').length, 1 + 4);
});

test('task: the whole story of a task in chain order, token issuance first', () => {
  const result = ask('task', '--txn', 't1', '--format', 'json');
  assert.equal(result.status, 0, result.stderr);
  const rows = JSON.parse(result.stdout) as { seq: number; kind: string; detail: unknown }[];
  assert.deepEqual(
    rows.map((r) => [r.seq, r.kind]),
    [
      [1, 'token_issued'],
      [2, 'decision'],
      [3, 'decision'],
      [4, 'outcome'],
      [5, 'outcome'],
    ],
  );
  assert.deepEqual(rows[0]!.detail, { granted_scope: 'crm:read' });
});

test('correlation: every event behind one correlation id', () => {
  const rows = JSON.parse(ask('correlation', '--correlation-id', 'trace-a', '--format', 'json').stdout);
  assert.deepEqual(
    rows.map((r: { seq: number }) => r.seq),
    [2, 3, 4, 5],
  );
});

test('agent-activity: everything one agent did for one user, in a window', () => {
  const seqs = (...extra: string[]) =>
    JSON.parse(
      ask('agent-activity', '--agent', 'procurement-bot', '--user', 'alice@example.com', '--format', 'json', ...extra)
        .stdout,
    ).map((r: { seq: number }) => r.seq);
  assert.deepEqual(seqs(), [1, 2, 3, 4, 5, 7, 8]);
  assert.deepEqual(seqs('--until', '2026-03-15'), [1, 2, 3, 4, 5, 7]);
  assert.deepEqual(
    JSON.parse(
      ask('agent-activity', '--agent', 'support-bot', '--user', 'alice@example.com', '--format', 'json').stdout,
    ),
    [],
  );
});

test('a question without what it needs, or two questions, or --kind on calls: exit 2 with usage', () => {
  for (const args of [
    ['resource-access'],
    ['task'],
    ['correlation'],
    ['agent-activity', '--agent', 'procurement-bot'],
    ['task', 'correlation', '--txn', 't1'],
    ['who-knows', '--txn', 't1'],
    ['resource-access', '--resource', '9821', '--kind', 'decision'],
  ]) {
    const result = ask(...args);
    assert.equal(result.status, 2, args.join(' '));
    assert.match(result.stderr, /usage: mandate audit query/);
  }
});

test('when --limit cuts rows off, stderr says so', () => {
  const cut = ask('task', '--txn', 't1', '--limit', '2');
  assert.equal(cut.status, 0);
  assert.equal(cut.stdout.trimEnd().split('\n').length, 3);
  assert.match(cut.stderr, /showing the 2 most recent rows/);
  assert.equal(ask('task', '--txn', 't1').stderr, '');
});

test('--kind takes every kind the gateway writes, and finds exactly those events', () => {
  const kindsFile = join(dir, 'kinds.db');
  const store = AuditStore.open(kindsFile);
  for (const [i, kind] of auditKinds.entries()) store.append(auditEvent({ kind, correlationId: `k${i}` }));
  store.close();
  // The kinds added after the first release (approvals, task states) were refused as unknown once.
  for (const kind of ['approval_requested', 'task_suspended', 'task_ended'] as const) {
    const result = runMandate(['audit', 'query', '--db', kindsFile, '--kind', kind, '--format', 'json']);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(
      JSON.parse(result.stdout).map((r: { kind: string; correlation_id: string }) => [r.kind, r.correlation_id]),
      [[kind, `k${auditKinds.indexOf(kind)}`]],
    );
  }
  assert.equal(runMandate(['audit', 'query', '--db', kindsFile, '--kind', 'task_exploded']).status, 2);
});

test('task_timeline tells approval and task events in words, from their details', () => {
  const timelineFile = join(dir, 'timeline.db');
  const store = AuditStore.open(timelineFile);
  const held = { txn: 'tx', action: 'procurement.contract.cancel', detail: { request: 'POST /procurement/x' } };
  store.append(auditEvent({ ...held, kind: 'approval_requested' }));
  store.append(auditEvent({ ...held, kind: 'approval_granted', detail: { decided_by: 'alice', via: 'page' } }));
  store.append(auditEvent({ ...held, kind: 'approval_used' }));
  const change = { id: 1, txn: 'tx', atMs: 0, via: 'limit', limit: 'task.requests', user: 'alice' } as const;
  const origin = { correlationId: 'c', method: 'POST', path: '/p', status: 429, agent: 'bot' };
  store.append(
    taskStateEvent(
      { ...change, state: 'suspended', by: 'gateway', reason: 'limit task.requests reached (5)' },
      origin,
      true,
    ),
  );
  store.append(
    taskStateEvent({ ...change, state: 'resumed', by: 'user:alice', via: 'user', reason: 'ok' }, origin, true),
  );
  store.append(taskEndedEvent({ txn: 'tx', user: 'alice', agent: 'bot', lastUsedMs: 0 }, 86_400_000 * 31, 30));
  store.close();
  const db = new Database(timelineFile, { readonly: true });
  try {
    assert.deepEqual(db.prepare("SELECT step FROM task_timeline WHERE txn = 'tx' ORDER BY seq").pluck().all(), [
      'held for approval: procurement.contract.cancel',
      'approved by alice',
      'approved call sent: procurement.contract.cancel',
      'task suspended: limit task.requests reached (5)',
      'task resumed by user:alice',
      'task ended, unused for 30 days',
    ]);
  } finally {
    db.close();
  }
});
