import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../../gateway/config/load.ts';

const ROOT = join(import.meta.dirname, '../../..');

test('the repository routes.yaml is valid, frozen, with paths resolved against its folder', () => {
  const config = loadConfig(join(ROOT, 'routes.yaml'));
  assert.equal(config.gateway.audit_db, join(ROOT, 'data/audit.db'));
  assert.ok(Object.isFrozen(config.routes[0]));
  assert.throws(() => {
    (config.routes as unknown as unknown[]).push({});
  }, TypeError);
});

test('every problem is reported with its path, not just the first', () => {
  const yaml = `
version: 1
issuers:
  - issuer: https://idp
    jwks: { file: ./jwks.json }
    algorithms: [HS256]
backends:
  - name: crm
    url: http://127.0.0.1:1
    audience: https://crm
    credential: { type: bearer, name: crm, secret: hunter2 }
    polcy: crm
routes:
  - backend: billing
    method: GET
    path: /crm/{id}
    action: crm.read
    resource: { type: customer, id: "{customer}" }
    upstream_path: /x/{other}
`;
  const error = (() => {
    try {
      parseConfig(yaml, '/tmp/routes.yaml');
      return undefined;
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof ConfigError);
  const text = error.problems.join('\n');
  assert.match(text, /issuers\[0\]\.algorithms\[0\]/);
  assert.match(text, /backends\[0\]\.credential\.secret: must be a reference/);
  assert.match(text, /backends\[0\]/);
  assert.ok(error.problems.length >= 3, text);
  assert.ok(!text.includes('hunter2'), 'a literal secret is never echoed back');
});

/** A minimal routes.yaml: one `crm` backend (`backendFields` added to it), `routes`, then `rest`. */
const minimalConfig = ({
  routes = ['{ backend: crm, method: GET, path: /crm/x, action: a.read, resource: { type: a }, upstream_path: /x }'],
  backendFields = '',
  rest = '',
}: {
  routes?: readonly string[];
  backendFields?: string;
  rest?: string;
}) => `
version: 1
issuers: [{ issuer: https://idp, jwks: { file: ./jwks.json } }]
backends:
  - { name: crm, url: "http://127.0.0.1:1", audience: https://crm, credential: { type: none, name: none }${backendFields} }
routes:
${routes.map((r) => `  - ${r}`).join('\n')}
${rest}`;

/** The configuration problems `yaml` is refused with; none when it loads. */
const problemsOf = (yaml: string): readonly string[] => {
  try {
    parseConfig(yaml, '/tmp/r.yaml');
    return [];
  } catch (e) {
    return (e as ConfigError).problems;
  }
};

test('cross-checks: unknown backend, parameters that do not exist, duplicate route shapes', () => {
  const text = problemsOf(
    minimalConfig({
      routes: [
        '{ backend: billing, method: GET, path: "/a/{id}", action: a.read, resource: { type: a, id: "{nope}" }, upstream_path: "/a/{other}" }',
        '{ backend: crm, method: GET, path: "/b/{x}", action: b.read, resource: { type: b }, upstream_path: /b }',
        '{ backend: crm, method: GET, path: "/b/{y}", action: b.read, resource: { type: b }, upstream_path: /b }',
      ],
    }),
  ).join('\n');
  assert.match(text, /routes\[0\]\.backend: unknown backend "billing" \(known: crm\)/);
  assert.match(text, /routes\[0\]\.upstream_path: \{other\} is not a parameter of path/);
  assert.match(text, /routes\[0\]\.resource\.id: \{nope\} is not a parameter of path/);
  assert.match(text, /routes\[2\]\.path: same method and path shape as routes\[1\]/);
});

test('forward_headers cannot name a header the gateway owns', () => {
  assert.deepEqual(
    problemsOf(minimalConfig({ backendFields: ', forward_headers: [x-request-id, authorization, x-mandate-user]' })),
    [
      'backends[0].forward_headers[1]: "authorization" is set or removed by the gateway',
      'backends[0].forward_headers[2]: "x-mandate-user" is set or removed by the gateway',
    ],
  );
});

test('websocket: true is for GET routes only (RFC 6455 §4.1: the handshake is a GET)', () => {
  const routes = [
    '{ backend: crm, method: GET, path: /a, action: a.watch, resource: { type: a }, upstream_path: /a, websocket: true }',
    '{ backend: crm, method: POST, path: /a, action: a.write, resource: { type: a }, upstream_path: /a, websocket: true }',
  ];
  assert.deepEqual(problemsOf(minimalConfig({ routes })), [
    'routes[1].websocket: only a GET route can accept WebSocket upgrades (RFC 6455 §4.1)',
  ]);
});

test("routes may not use the paths of the gateway's own endpoints", () => {
  const routes = [
    '{ backend: crm, method: POST, path: /oauth2/token, action: a.token, resource: { type: a }, upstream_path: /t }',
    '{ backend: crm, method: GET, path: /.well-known/jwks.json, action: a.keys, resource: { type: a }, upstream_path: /k }',
    '{ backend: crm, method: GET, path: /healthz, action: a.health, resource: { type: a }, upstream_path: /h }',
    '{ backend: crm, method: GET, path: /_mandate/admin/x, action: a.admin, resource: { type: a }, upstream_path: /x }',
    '{ backend: crm, method: GET, path: /oauth2x, action: a.fine, resource: { type: a }, upstream_path: /x }',
  ];
  assert.deepEqual(problemsOf(minimalConfig({ routes })), [
    "routes[0].path: /oauth2/ is reserved for the gateway's own endpoints",
    "routes[1].path: /.well-known/ is reserved for the gateway's own endpoints",
    "routes[2].path: /healthz is reserved for the gateway's own endpoints",
    "routes[3].path: /_mandate/ is reserved for the gateway's own endpoints",
  ]);
});

/**
 * With the token service and one identity provider; `idp` adds lines to the provider, which vouches
 * for the issuer's users (one user namespace) unless `namespace` says otherwise.
 */
const withIdentityProvider = (idp: string, host = '127.0.0.1', namespace = 'user_namespace: https://idp') =>
  minimalConfig({
    rest: `gateway: { host: "${host}" }
token_service: { issuer: https://mandate, keys_dir: ./keys }
identity_providers:
  - issuer: https://corp
    jwks: { file: ./corp.json }
    audiences: [https://mandate/exchange]
    ${namespace}
    ${idp}
`,
  });

test('every issuer and identity provider must vouch for one user namespace: users are matched by sub', () => {
  assert.deepEqual(problemsOf(withIdentityProvider('', '127.0.0.1', '')), [
    'identity_providers[0].user_namespace: users are matched by their token\'s sub alone, so every issuer and identity provider must vouch for one user namespace; "https://corp" here, "https://idp" at issuers[0] (give both the same user_namespace if their subjects are one directory)',
  ]);
  // Named alike on both sides: one directory.
  assert.deepEqual(problemsOf(withIdentityProvider('', '127.0.0.1', 'user_namespace: https://idp')), []);
  const twoIssuers = minimalConfig({}).replace(
    'issuers: [{ issuer: https://idp, jwks: { file: ./jwks.json } }]',
    'issuers: [{ issuer: https://idp, jwks: { file: ./a.json } }, { issuer: https://other, jwks: { file: ./b.json } }]',
  );
  assert.ok(problemsOf(twoIssuers).some((p) => p.startsWith('issuers[1].user_namespace: users are matched')));
});

test("an identity provider's approver audience can never be one of its exchange audiences", () => {
  assert.deepEqual(
    problemsOf(withIdentityProvider('approver_audiences: [https://mandate/approvals, https://mandate/exchange]')),
    [
      'identity_providers[0].approver_audiences[1]: "https://mandate/exchange" is also an exchange audience; a token an agent holds must never approve',
    ],
  );
  assert.deepEqual(problemsOf(withIdentityProvider('approver_audiences: [https://mandate/approvals]')), []);
});

test('the approval page login needs a configured redirect when the gateway listens beyond loopback', () => {
  const login = (redirect: string) => `approval_login: { client_id: mandate-approvals${redirect} }`;
  assert.deepEqual(problemsOf(withIdentityProvider(login(''), '0.0.0.0')), [
    'identity_providers[0].approval_login.redirect_uri: required (or approvals.public_url) when the gateway listens beyond loopback',
  ]);
  const redirect = ', redirect_uri: "https://mandate.example.com/_mandate/approvals/callback"';
  assert.deepEqual(problemsOf(withIdentityProvider(login(redirect), '0.0.0.0')), []);
  assert.deepEqual(problemsOf(withIdentityProvider(login(''))), []);
});
