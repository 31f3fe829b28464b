import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '../..');
const entrypoints = (text: string) => [...text.matchAll(/--entrypoint"?,? "?([\w/]+)/g)].map((m) => m[1]).sort();

// The Dockerfile compiles the policies with OPA's image, the toolchain with scripts/build-policy.sh:
// an entrypoint missing from one would make the image's token service (or proxy) fail at start-up.
test('the Dockerfile builds the same policy entrypoints as scripts/build-policy.sh', () => {
  const script = entrypoints(readFileSync(join(ROOT, 'scripts/build-policy.sh'), 'utf8'));
  assert.deepEqual(script, ['mandate/decision', 'mandate/exchange/decision']);
  assert.deepEqual(entrypoints(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')), script);
});
