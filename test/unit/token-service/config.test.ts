import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../../gateway/config/load.ts';

const ROOT = join(import.meta.dirname, '../../..');

// biome-ignore lint/suspicious/noExplicitAny: routes.yaml as parsed YAML, edited freely by each test
function problemsOf(edit: (config: Record<string, any>) => void): readonly string[] {
  const config = parse(readFileSync(join(ROOT, 'routes.yaml'), 'utf8'));
  edit(config);
  try {
    parseConfig(stringify(config), join(ROOT, 'routes.yaml'));
    return [];
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems;
  }
}

describe('routes.yaml token service sections', () => {
  it('the repository file is valid, with defaults filled in', () => {
    assert.deepEqual(
      problemsOf(() => {}),
      [],
    );
  });

  it('reports unknown backends and agents in a ceiling, with their paths', () => {
    const problems = problemsOf((c) => {
      c.agents[0].ceiling.backends = ['billing'];
      c.agents[0].ceiling.delegate_to = ['ghost-agent'];
    });
    assert.deepEqual(problems, [
      'agents[0].ceiling.backends[0]: unknown backend "billing" (known: crm, procurement)',
      'agents[0].ceiling.delegate_to[0]: unknown agent "ghost-agent"',
    ]);
  });

  it('refuses unknown keys, a non-ES256/EdDSA signing algorithm and agents without a token service', () => {
    assert.ok(problemsOf((c) => (c.agents[0].ceiling.scope = ['x'])).some((p) => p.startsWith('agents[0].ceiling')));
    assert.ok(
      problemsOf((c) => (c.token_service.algorithm = 'HS256')).some((p) => p.startsWith('token_service.algorithm')),
    );
    assert.ok(
      problemsOf((c) => delete c.token_service).includes(
        'token_service: required when agents or identity_providers are configured',
      ),
    );
  });

  it("refuses Mandate's own issuer among the issuers it trusts by configuration", () => {
    const problems = problemsOf((c) => c.issuers.push({ issuer: c.token_service.issuer, jwks: { file: 'x' } }));
    assert.ok(problems.some((p) => p.startsWith('token_service.issuer:')));
  });
});
