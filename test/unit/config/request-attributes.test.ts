import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConfigError, parseConfig } from '../../../gateway/config/load.ts';

const config = (routes: string) => `
version: 1
issuers: [{ issuer: https://idp, jwks: { file: ./jwks.json } }]
backends: [{ name: p, url: "http://127.0.0.1:1", audience: https://p, credential: { type: none, name: none } }]
routes:
${routes}`;

const problems = (routes: string): readonly string[] => {
  try {
    parseConfig(config(routes), '/tmp/r.yaml');
    return [];
  } catch (e) {
    return (e as ConfigError).problems;
  }
};

test('a route exposes query parameters and a bounded JSON body to policy', () => {
  const parsed = parseConfig(
    config(`
  - { backend: p, method: POST, path: /o, action: o.create, resource: { type: o }, upstream_path: /o,
      query: [dry_run], body: { max_bytes: 1024, fields: [vendor, amount] } }
  - { backend: p, method: GET, path: /o, action: o.list, resource: { type: o }, upstream_path: /o }
`),
    '/tmp/r.yaml',
  );
  assert.deepEqual(parsed.routes[0]?.query, ['dry_run']);
  assert.deepEqual(parsed.routes[0]?.body, { max_bytes: 1024, fields: ['vendor', 'amount'] });
  assert.deepEqual(parsed.routes[1]?.query, []);
  assert.equal(parsed.routes[1]?.body, undefined, 'no body: the body is streamed, never buffered');
});

test('every problem with the attributes is reported with its path', () => {
  assert.deepEqual(
    problems(`
  - { backend: p, method: GET, path: /a, action: a.read, resource: { type: a }, upstream_path: /a, body: { max_bytes: 10 } }
  - { backend: p, method: POST, path: /b, action: b.make, resource: { type: b }, upstream_path: /b,
      query: [vendor, vendor], body: { max_bytes: 10, fields: [__proto__] } }
`),
    [
      'routes[0].body: a GET request carries no body to read',
      'routes[1].query: a name appears twice',
      'routes[1].body.fields: "__proto__" is not allowed as a name',
    ],
  );
});

test('the body bound is required, positive and at most 1 MiB; names are identifiers', () => {
  const route = (body: string) =>
    `  - { backend: p, method: POST, path: /b, action: b.make, resource: { type: b }, upstream_path: /b, ${body} }`;
  assert.equal(problems(route('body: { fields: [a] }')).length, 1);
  assert.equal(problems(route('body: { max_bytes: 0 }')).length, 1);
  assert.equal(problems(route('body: { max_bytes: 2000000 }')).length, 1);
  assert.equal(problems(route('body: { max_bytes: 10, fields: [a.b] }')).length, 1);
  assert.equal(problems(route('body: { max_bytes: 10, limit: 5 }')).length, 1, 'unknown keys are errors');
  assert.equal(problems(route('query: ["vendor name"]')).length, 1);
});
