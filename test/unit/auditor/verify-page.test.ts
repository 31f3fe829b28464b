import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyPage } from '../../../gateway/auditor/pages.ts';

test('the verify page lists the sealed segments with their seqs, the active file, and what retention removed', () => {
  const page = verifyPage(
    {
      verdict: {
        status: 'intact',
        events: 120,
        head: { seq: 220, hash: 'f'.repeat(64) },
        checkpoints: 4,
        warnings: [],
        retained: { lastSeq: 100, recordedAt: 181 },
      },
      checkedAt: new Date('2026-07-01T10:00:00.000Z'),
    },
    [
      { file: '/var/lib/mandate/audit-000000000101-000000000150.db', firstSeq: 101, lastSeq: 150 },
      { file: '/var/lib/mandate/audit-000000000151-000000000200.db', firstSeq: 151, lastSeq: 200 },
    ],
  ).markup;
  assert.match(page, /<dd id="retained">seqs 1–100 \(recorded at seq 181\)<\/dd>/);
  assert.match(page, /<tr><td>audit-000000000101-000000000150\.db<\/td><td>101–150<\/td><\/tr>/);
  assert.match(page, /<tr><td>audit-000000000151-000000000200\.db<\/td><td>151–200<\/td><\/tr>/);
  assert.match(page, /<tr><td>active database<\/td><td>from 201<\/td><\/tr>/);
  assert.doesNotMatch(page, /\/var\/lib\/mandate/, 'file names only, not the server paths');
});
