import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../../gateway/config/load.ts';
import { auditSegmentOptions } from '../../../gateway/pipeline/6-audit/segment-config.ts';

const ROOT = join(import.meta.dirname, '../../..');

/** The repository's routes.yaml with `gateway.audit_segment` set to `segment`. */
function withSegment(segment: unknown) {
  const config = parse(readFileSync(join(ROOT, 'routes.yaml'), 'utf8'));
  config.gateway.audit_segment = segment;
  return parseConfig(stringify(config), '/etc/mandate/routes.yaml');
}

const problems = (segment: unknown) => {
  try {
    withSegment(segment);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems;
  }
  assert.fail('expected a configuration error');
};

test('audit_segment: absent means no rotation; limits and retention become the writer thread options', () => {
  const config = parseConfig(readFileSync(join(ROOT, 'routes.yaml'), 'utf8'), join(ROOT, 'routes.yaml'));
  assert.equal(auditSegmentOptions(config), undefined);
  const segmented = withSegment({
    max_bytes: 1_073_741_824,
    max_age_seconds: 86_400,
    retention: { max_age_seconds: 31_536_000, archive_dir: './archive' },
  });
  assert.deepEqual(auditSegmentOptions(segmented), {
    maxBytes: 1_073_741_824,
    maxAgeSeconds: 86_400,
    retention: { maxAgeSeconds: 31_536_000, archiveDir: '/etc/mandate/archive' },
  });
});

test('audit_segment: a limit is required, sizes have a floor, unknown keys are errors', () => {
  assert.match(problems({}).join('\n'), /gateway\.audit_segment.*give max_bytes, max_age_seconds or both/);
  assert.match(problems({ max_bytes: 1000 }).join('\n'), /gateway\.audit_segment\.max_bytes/);
  assert.match(
    problems({ max_bytes: 1_000_000, retention: {} }).join('\n'),
    /gateway\.audit_segment\.retention.*give max_age_seconds, max_total_bytes or both/,
  );
  assert.match(problems({ max_bytes: 1_000_000, max_size: 5 }).join('\n'), /max_size/);
});
