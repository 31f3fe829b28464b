import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../../gateway/config/load.ts';

const base = (extra: string) => `
version: 1
gateway: { state_db: ./state/revocations.db }
issuers: [{ issuer: https://idp, jwks: { file: ./jwks.json } }]
backends: [{ name: crm, url: "http://127.0.0.1:1", audience: https://crm, credential: { type: none, name: none } }]
routes: [{ backend: crm, method: GET, path: /crm/x, action: crm.read, resource: { type: x }, upstream_path: /x }]
${extra}`;

const problems = (yaml: string): string[] => {
  try {
    parseConfig(yaml, '/etc/mandate/routes.yaml');
    return [];
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return [...e.problems];
  }
};

test('admin keys: by reference, resolved against the file; state_db resolved too', () => {
  const config = parseConfig(
    base(`admin:
  keys:
    - { name: ops, secret: file:./keys/ops, roles: [admin] }
    - { name: compliance, secret: env:AUDITOR_KEY, roles: [auditor, admin] }`),
    '/etc/mandate/routes.yaml',
  );
  assert.deepEqual(config.admin?.keys, [
    { name: 'ops', secret: 'file:/etc/mandate/keys/ops', roles: ['admin'] },
    { name: 'compliance', secret: 'env:AUDITOR_KEY', roles: ['auditor', 'admin'] },
  ]);
  assert.equal(config.gateway.state_db, '/etc/mandate/state/revocations.db');
  assert.equal(parseConfig(base(''), '/etc/mandate/routes.yaml').admin, undefined, 'absent: the admin API is off');
});

test('admin keys: a literal secret, an unknown role, no roles and a duplicate name are errors, with paths', () => {
  const found = problems(
    base(`admin:
  keys:
    - { name: ops, secret: hunter2-hunter2-hunter2-hunter2-hunter2, roles: [admin] }
    - { name: ops, secret: env:B, roles: [superuser] }
    - { name: x, secret: env:C, roles: [] }`),
  ).join('\n');
  assert.match(found, /admin\.keys\[0\]\.secret: must be a reference/);
  assert.match(found, /admin\.keys\[1\]\.roles\[0\]/);
  assert.match(found, /admin\.keys\[2\]\.roles/);
  assert.ok(!found.includes('hunter2'), 'a literal secret is never echoed back');
  assert.match(
    problems(
      base(
        `admin: { keys: [{ name: ops, secret: env:A, roles: [admin] }, { name: ops, secret: env:B, roles: [auditor] }] }`,
      ),
    ).join('\n'),
    /admin\.keys\[1\]\.name: duplicate admin key name "ops"/,
  );
  assert.match(problems(base('admin: { keys: [] }')).join('\n'), /admin\.keys/);
});
