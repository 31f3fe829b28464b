import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { columnNames } from '../../../gateway/pipeline/6-audit/schema.ts';
import { AuditStore } from '../../../gateway/pipeline/6-audit/store.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent, runMandate } from './fixtures.ts';

// The export is re-verified by the README's recipe (scripts/verify-export.py), an independent
// implementation in Python that shares no code with Mandate.

const dir = tempDir('mandate-export-');
const db = join(dir, 'audit.db');
const recipe = fileURLToPath(new URL('../../../scripts/verify-export.py', import.meta.url));

before(() => {
  const store = AuditStore.open(db);
  for (let i = 1; i <= 6; i++) {
    store.append(
      auditEvent({
        time: `2026-07-0${i}T10:00:00.000Z`,
        kind: i % 2 === 0 ? 'outcome' : 'decision',
        // Values that stress the canonical form: non-ASCII, quotes, control characters, floats, nesting.
        intent: `Bestellung für «Müller» "quoted"\n\ttab ${'\u2028'} ✓ ${i}`,
        status: i % 2 === 0 ? 200 : null,
        durationMs: i % 2 === 0 ? 12.5 : 3,
        detail: i === 3 ? { requested: ['a', 'b'], granted: { limit: 5000.25 } } : null,
      }),
    );
  }
  store.close();
});

const exported = (...args: string[]) => runMandate(['audit', 'export', '--db', db, ...args]);
const reverify = (jsonl: string) => spawnSync('python3', [recipe], { input: jsonl, encoding: 'utf8' });

test('every line carries every column, prev_hash and hash included, in seq order', () => {
  const result = exported();
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => l.seq),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(Object.keys(lines[0]!), columnNames);
  assert.equal(lines[1]!.prev_hash, lines[0]!.hash);
});

test('the independent recipe re-verifies a whole export, and a slice of it', () => {
  const whole = reverify(exported().stdout);
  assert.equal(whole.status, 0, whole.stderr);
  assert.match(whole.stdout, /^OK: 6 events/);
  const slice = exported('--since', '2026-07-03T00:00:00Z', '--until', '2026-07-05T00:00:00Z');
  assert.deepEqual(
    slice.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).seq),
    [3, 4],
  );
  assert.match(reverify(slice.stdout).stdout, /^OK: 2 events/);
  assert.deepEqual(
    exported('--from-seq', '5')
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l).seq),
    [5, 6],
  );
});

test('the recipe catches a modified value and a removed line', () => {
  const lines = exported().stdout.trim().split('\n');
  const modified = [...lines];
  modified[2] = modified[2]!.replace('"decision":"allow"', '"decision":"deny"');
  const changed = reverify(`${modified.join('\n')}\n`);
  assert.notEqual(changed.status, 0);
  assert.match(changed.stderr, /BROKEN at seq 3: content does not match its hash/);
  const removed = reverify(`${lines.filter((_, i) => i !== 3).join('\n')}\n`);
  assert.match(removed.stderr, /BROKEN at seq 5: prev_hash does not link/);
});

test('usage errors: exit 2', () => {
  assert.equal(runMandate(['audit', 'export']).status, 2);
  assert.equal(exported('--since', 'yesterday').status, 2);
  assert.equal(exported('--from-seq', 'x').status, 2);
  assert.equal(runMandate(['audit', 'export', '--db', join(dir, 'absent.db')]).status, 2);
});
