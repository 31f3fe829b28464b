import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../../gateway/config/load.ts';
import { type ErrorCode, MandateError } from '../../../gateway/errors.ts';
import { compileRouteTable, type RouteTable } from '../../../gateway/pipeline/2-resolve/route-table.ts';

const demo = compileRouteTable(loadConfig(new URL('../../../routes.yaml', import.meta.url).pathname));

function refusal(table: RouteTable, method: string, target: string): MandateError {
  try {
    table.resolve(method, target);
  } catch (error) {
    assert.ok(error instanceof MandateError, `not a MandateError: ${String(error)}`);
    return error;
  }
  assert.fail(`${method} ${target} resolved`);
}

describe('resolve: demo routes', () => {
  it('maps a contract cancel to its action, resource and backend path', () => {
    const m = demo.resolve('POST', '/procurement/contracts/12345/cancel');
    assert.equal(m.action, 'procurement.contract.cancel');
    assert.deepEqual(m.resource, { type: 'contract', id: '12345' });
    assert.deepEqual({ ...m.params }, { contract_id: '12345' });
    assert.equal(m.path, '/procurement/contracts/12345/cancel');
    assert.equal(m.query, '');
    assert.equal(m.backend.name, 'procurement');
    assert.equal(m.upstreamPath, '/contracts/12345/cancel');
    assert.equal(m.policy, 'procurement');
    assert.equal(m.template, '/procurement/contracts/{contract_id}/cancel');
    assert.equal(m.websocket, false);
  });

  it('decodes unreserved escapes: the canonical path is matched and forwarded', () => {
    const m = demo.resolve('GET', '/procurement/contr%61cts/%31%32%33%34%35');
    assert.equal(m.action, 'procurement.contract.read');
    assert.equal(m.path, '/procurement/contracts/12345');
    assert.equal(m.resource.id, '12345');
    assert.equal(m.upstreamPath, '/contracts/12345');
  });

  it('forwards the validated query after the upstream path', () => {
    const m = demo.resolve('GET', '/procurement/contracts?vendor=X&status=active');
    assert.equal(m.action, 'procurement.contract.list');
    assert.deepEqual(m.resource, { type: 'contract_collection', id: undefined });
    assert.equal(m.query, '?vendor=X&status=active');
    assert.equal(m.upstreamPath, '/contracts?vendor=X&status=active');
  });

  it('takes several parameters into the upstream path', () => {
    const m = demo.resolve('PATCH', '/crm/regions/emea/customers/9821');
    assert.equal(m.action, 'crm.customer.update');
    assert.deepEqual({ ...m.params }, { region: 'emea', customer_id: '9821' });
    assert.deepEqual(m.resource, { type: 'customer', id: '9821' });
    assert.equal(m.backend.name, 'crm');
    assert.equal(m.upstreamPath, '/regions/emea/customers/9821');
  });

  it('re-encodes decoded parameter values for the backend', () => {
    const m = demo.resolve('GET', '/procurement/documents/a%20b:c');
    assert.equal(m.params.document_id, 'a b:c');
    assert.equal(m.path, '/procurement/documents/a%20b:c');
    assert.equal(m.upstreamPath, '/documents/a%20b%3Ac');
  });

  const refused: [string, string, string, ErrorCode][] = [
    ['dot-dot into another route', 'POST', '/procurement/contracts/../contracts/1/cancel', 'MANDATE_PATH_AMBIGUOUS'],
    ['encoded dot-dot', 'GET', '/procurement/contracts/%2e%2e/contracts/1', 'MANDATE_PATH_AMBIGUOUS'],
    ['encoded slash inside an id', 'GET', '/procurement/contracts/1%2F..%2F2', 'MANDATE_PATH_AMBIGUOUS'],
    ['trailing slash', 'GET', '/procurement/contracts/', 'MANDATE_PATH_AMBIGUOUS'],
    ['double slash', 'GET', '/procurement//contracts', 'MANDATE_PATH_AMBIGUOUS'],
    ['matrix parameter on an id', 'GET', '/procurement/contracts/12345;v=1', 'MANDATE_PATH_AMBIGUOUS'],
    ['absolute form', 'GET', 'http://evil/procurement/contracts', 'MANDATE_REQUEST_MALFORMED'],
    ['asterisk form', 'OPTIONS', '*', 'MANDATE_REQUEST_MALFORMED'],
    ['path case differs', 'GET', '/PROCUREMENT/contracts', 'MANDATE_ROUTE_NOT_FOUND'],
    ['unknown path', 'GET', '/procurement/invoices', 'MANDATE_ROUTE_NOT_FOUND'],
    ['root', 'GET', '/', 'MANDATE_ROUTE_NOT_FOUND'],
    ['prefix without boundary', 'GET', '/procurement/contractsX', 'MANDATE_ROUTE_NOT_FOUND'],
    ['extra segment', 'GET', '/procurement/contracts/12345/extra', 'MANDATE_ROUTE_NOT_FOUND'],
    ['id failing its pattern', 'GET', '/procurement/contracts/abc', 'MANDATE_ROUTE_NOT_FOUND'],
    ['id longer than its pattern allows', 'GET', '/procurement/contracts/1234567890123', 'MANDATE_ROUTE_NOT_FOUND'],
    ['id with an encoded space', 'GET', '/procurement/contracts/12345%20', 'MANDATE_ROUTE_NOT_FOUND'],
    ['region failing its pattern', 'GET', '/crm/regions/EMEA/customers/9821', 'MANDATE_ROUTE_NOT_FOUND'],
    ['pattern failure wins over method mismatch', 'DELETE', '/procurement/contracts/abc', 'MANDATE_ROUTE_NOT_FOUND'],
  ];
  for (const [name, method, target, code] of refused) {
    it(`${name}: ${method} ${target} → ${code}`, () => {
      assert.equal(refusal(demo, method, target).code, code);
    });
  }

  const wrongMethod: [string, string, string[]][] = [
    ['DELETE', '/procurement/contracts/12345', ['GET']],
    ['GET', '/procurement/contracts/12345/cancel', ['POST']],
    ['PUT', '/crm/regions/emea/customers/9821', ['GET', 'PATCH']],
    ['HEAD', '/procurement/contracts', ['GET']],
    ['get', '/procurement/contracts', ['GET']],
  ];
  for (const [method, target, allow] of wrongMethod) {
    it(`${method} ${target} → 405, allow ${allow.join(', ')}`, () => {
      const error = refusal(demo, method, target);
      assert.equal(error.code, 'MANDATE_METHOD_NOT_ALLOWED');
      assert.equal(error.entry.status, 405);
      assert.deepEqual(error.allow, allow);
    });
  }
});

const edgeYaml = `
version: 1
gateway: { default_policy: fallback }
issuers:
  - issuer: https://idp.test
    jwks: { file: ./jwks.json }
backends:
  - name: legacy
    url: http://127.0.0.1:9/api/v2/
    audience: https://legacy.test
    credential: { type: none }
  - name: plain
    url: http://127.0.0.1:9
    audience: https://plain.test
    credential: { type: none }
routes:
  - backend: legacy
    method: GET
    path: /items/{item_id}
    action: legacy.item.read
    resource: { type: item, id: "{item_id}" }
    upstream_path: /v/{item_id}
    params: { item_id: "[0-9]+" }
  - backend: legacy
    method: GET
    path: /items/special
    action: legacy.item.special
    resource: { type: item, id: singleton }
    upstream_path: /special
    policy: items
  - backend: legacy
    method: GET
    path: /{a}/{b}/x
    action: legacy.pair.read
    resource: { type: pair }
    upstream_path: /pairs/{b}/{a}/{b}
    websocket: true
  - backend: plain
    method: GET
    path: /
    action: plain.home.read
    resource: { type: home }
    upstream_path: /
  - backend: plain
    method: POST
    path: /items/{item_id}/notes
    action: plain.note.create
    resource: { type: note }
    upstream_path: /notes
`;
const edge = compileRouteTable(parseConfig(edgeYaml, '/tmp/edge-routes.yaml'));

describe('resolve: edge cases', () => {
  it("prepends the backend URL's own path, without its trailing slash", () => {
    const m = edge.resolve('GET', '/items/42?full=1');
    assert.equal(m.upstreamPath, '/api/v2/v/42?full=1');
    assert.equal(m.resource.id, '42');
  });

  it('falls back to gateway.default_policy', () => {
    assert.equal(edge.resolve('GET', '/items/42').policy, 'fallback');
    assert.equal(edge.resolve('GET', '/items/special').policy, 'items');
  });

  it('prefers a literal segment over a parameter, whatever the order of routes.yaml', () => {
    const m = edge.resolve('GET', '/items/special');
    assert.equal(m.action, 'legacy.item.special');
    assert.deepEqual(m.resource, { type: 'item', id: 'singleton' });
    assert.equal(m.upstreamPath, '/api/v2/special');
  });

  it('anchors parameter patterns even when the config does not', () => {
    assert.equal(refusal(edge, 'GET', '/items/12abc').code, 'MANDATE_ROUTE_NOT_FOUND');
  });

  it('substitutes a parameter wherever and however often it appears upstream', () => {
    const m = edge.resolve('GET', '/one/two/x');
    assert.equal(m.upstreamPath, '/api/v2/pairs/two/one/two');
    assert.deepEqual(m.resource, { type: 'pair', id: undefined });
  });

  it('matches the root route', () => {
    const m = edge.resolve('GET', '/?q=1');
    assert.equal(m.action, 'plain.home.read');
    assert.equal(m.path, '/');
    assert.equal(m.upstreamPath, '/?q=1');
  });

  it('carries the websocket flag', () => {
    assert.equal(edge.resolve('GET', '/one/two/x').websocket, true);
    assert.equal(edge.resolve('POST', '/items/7/notes').websocket, false);
  });

  it('lists the methods of the path only', () => {
    assert.deepEqual(refusal(edge, 'PUT', '/items/special').allow, ['GET']);
    assert.deepEqual(refusal(edge, 'GET', '/items/7/notes').allow, ['POST']);
  });
});
