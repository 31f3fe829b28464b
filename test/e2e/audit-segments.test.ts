import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { chainFiles, listSegments } from '../../gateway/pipeline/6-audit/segments.ts';
import { mandateCli, ROOT, type Stack, startStack } from './harness.ts';

// The gateway as users run it with `gateway.audit_segment`: the writer thread seals the active audit
// file into segments under load, retention removes the oldest, and the CLI verifies, queries and
// exports across them.

const CONTRACT = '/procurement/contracts/12345';

/** Keeps `workers` requests in flight until the backend has seen `count`; returns the statuses. */
async function load(stack: Stack, token: string, workers: number, count: number): Promise<number[]> {
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (stack.procurement.received.length < count) {
        const res = await fetch(`${stack.url}${CONTRACT}`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    }),
  );
  return statuses;
}

const eventsOf = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT seq, kind, correlation_id, detail FROM all_events ORDER BY seq').all() as {
      seq: number;
      kind: string;
      correlation_id: string;
      detail: string | null;
    }[];
  } finally {
    db.close();
  }
};

describe('audit segments: rotation under load', { timeout: 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      editConfig: (config) => {
        config.gateway.audit_segment = { max_bytes: 131_072 };
      },
    });
  });
  after(() => stack.stop());

  test('the chain verifies across the sealed segments, and every call the backend saw has its committed decision', async () => {
    const token = await stack.alice();
    const statuses = await load(stack, token, 16, 600);
    assert.ok(
      statuses.every((s) => s === 200),
      `every call answered 200 while the file rotated: ${[...new Set(statuses)]}`,
    );
    await stack.stop(); // a clean stop: the last checkpoint covers the newest row

    const segments = listSegments(stack.auditDb);
    assert.ok(segments.length >= 3, `${segments.length} segments`);
    const events = chainFiles(stack.auditDb).flatMap(eventsOf);
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
      'seq continues across the files, without a gap or a repeat',
    );
    const decided = events.filter((e) => e.kind === 'decision').map((e) => e.correlation_id);
    const received = stack.procurement.received.map((r) => String(r.headers['x-mandate-correlation-id']));
    assert.equal(decided.length, received.length, 'committed decisions == requests the backend saw');
    assert.deepEqual(new Set(decided), new Set(received));

    const verify = await mandateCli(['audit', 'verify', '--config', stack.configFile]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(
      verify.stdout,
      new RegExp(`^OK: audit chain intact, ${events.length} events up to seq ${events.length}, `),
    );
    assert.equal(verify.stderr, '');

    // Named questions and export read every file.
    const query = await mandateCli([
      'audit',
      'query',
      '--db',
      stack.auditDb,
      'task',
      '--txn',
      'task-alice-1',
      '--format',
      'json',
    ]);
    assert.equal(query.code, 0, query.stderr);
    assert.equal((JSON.parse(query.stdout) as unknown[]).length, events.length);
    const exported = await mandateCli(['audit', 'export', '--db', stack.auditDb]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout.trim().split('\n').length, events.length);
    const recipe = spawnSync('python3', [join(ROOT, 'scripts/verify-export.py')], {
      input: exported.stdout,
      encoding: 'utf8',
    });
    assert.equal(recipe.status, 0, recipe.stdout + recipe.stderr);
    assert.match(recipe.stdout, new RegExp(`^OK: ${events.length} events`));
  });
});

describe('audit segments: retention by total size', { timeout: 120_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      editConfig: (config) => {
        config.gateway.audit_segment = { max_bytes: 131_072, retention: { max_total_bytes: 400_000 } };
      },
    });
  });
  after(() => stack.stop());

  test('the oldest segments are deleted, each deletion recorded in the chain; verify accepts the recorded start', async () => {
    const token = await stack.alice();
    await load(stack, token, 8, 500);
    await stack.stop();

    const files = chainFiles(stack.auditDb);
    const events = files.flatMap(eventsOf);
    const first = events[0]!.seq;
    assert.ok(first > 1, 'the oldest events are gone');
    const removals = events.filter((e) => e.kind === 'retention').map((e) => JSON.parse(e.detail!));
    assert.ok(removals.length >= 1);
    assert.equal(removals.at(-1).last_seq, first - 1, 'the newest removal ends where the trail now starts');
    assert.equal(removals.at(-1).rule, 'max_total_bytes');

    const verify = await mandateCli(['audit', 'verify', '--config', stack.configFile]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, new RegExp(`seqs 1–${first - 1} removed by retention`));

    const retentionEvents = await mandateCli([
      'audit',
      'query',
      '--db',
      stack.auditDb,
      '--kind',
      'retention',
      '--format',
      'json',
    ]);
    assert.equal(retentionEvents.code, 0, retentionEvents.stderr);
    assert.equal((JSON.parse(retentionEvents.stdout) as unknown[]).length, removals.length);
  });
});
