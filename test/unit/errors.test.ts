import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { catalogue } from '../../gateway/errors.ts';

test('the README error catalogue lists exactly the codes of gateway/errors.ts, with their status and reason', () => {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `(MANDATE_[A-Z_]+)` \| (\d{3}) \| `([a-z_.]+)` \|/gm)].map((m) => [
    m[1],
    Number(m[2]),
    m[3],
  ]);
  const expected = Object.entries(catalogue).map(([code, e]) => [code, e.status, e.reason]);
  assert.deepEqual(rows, expected);
});

test('audit reasons are unique and shaped stage.condition', () => {
  const reasons = Object.values(catalogue).map((e) => e.reason);
  assert.equal(new Set(reasons).size, reasons.length);
  for (const r of reasons) assert.match(r, /^[a-z]+\.[a-z_]+$/);
});
