import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Actor } from '../../../gateway/pipeline/1-authenticate/principal.ts';
import { buildPolicyInput } from '../../../gateway/pipeline/3-authorize/policy-input.ts';
import { alice, bob, contractChange, contractList, NO_ATTRIBUTES, T0_MS } from './fixtures.ts';

describe('buildPolicyInput', () => {
  it('builds the versioned, snake_case document policies are written against', () => {
    const input = buildPolicyInput(alice(), contractChange('cancel', '12345'), 'POST', T0_MS + 123, NO_ATTRIBUTES);
    assert.deepEqual(input, {
      version: 1,
      time: { unix_ms: T0_MS + 123, iso: '2030-01-01T00:00:00.123Z' },
      user: {
        id: 'alice',
        issuer: 'https://mandate.dev.local',
        attributes: { roles: ['procurement'], region: 'emea' },
      },
      agent: { sub: 'procurement-assistant', iss: 'https://agents.dev.local' },
      agent_chain: [{ sub: 'procurement-assistant', iss: 'https://agents.dev.local' }],
      token: {
        jti: 'jti-alice-1',
        scopes: ['procurement:read', 'procurement:write'],
        authorization_details: [{ type: 'procurement_contract', actions: ['cancel'], identifier: '12345' }],
        txn: 'task-8841',
        intent: 'Cancel contract 12345, the supplier went bankrupt',
        client_id: 'procurement-assistant',
        issued_at: T0_MS / 1000 - 60,
        expires_at: T0_MS / 1000 + 240,
      },
      action: 'procurement.contract.cancel',
      resource: { type: 'contract', id: '12345' },
      request: {
        method: 'POST',
        path: '/procurement/contracts/12345/cancel',
        query: '',
        backend: 'procurement',
        params: { contract_id: '12345' },
        query_params: {},
        body: null,
      },
      route: { policy: 'procurement', template: '/procurement/contracts/{contract_id}/cancel', tier: 'execute' },
      limits: null,
    });
  });

  it('turns absent optional values into null, so Rego can test them', () => {
    const input = buildPolicyInput(bob(), contractList(), 'GET', T0_MS, NO_ATTRIBUTES);
    assert.deepEqual(input.agent, { sub: 'support-assistant', iss: null });
    assert.deepEqual(input.agent_chain, [{ sub: 'support-assistant', iss: null }]);
    assert.equal(input.token.txn, null);
    assert.equal(input.token.intent, null);
    assert.equal(input.token.client_id, null);
    assert.deepEqual(input.resource, { type: 'contract_collection', id: null });
    assert.equal(input.request.query, '?status=active');
    const json = JSON.parse(JSON.stringify(input));
    assert.deepEqual(json.token.txn, null, 'null survives serialisation into the Wasm module');
  });

  it('carries the query parameters and body fields the route exposes, never the raw body', () => {
    const body = {
      bytes: Buffer.from('{"vendor":"X","amount":120,"note":"secret"}'),
      sha256: '0'.repeat(64),
      json: {},
      fields: { vendor: 'X', amount: 120 },
    };
    const input = buildPolicyInput(alice(), contractList(), 'POST', T0_MS, {
      queryParams: { vendor: 'X', status: null },
      body,
    });
    assert.deepEqual(input.request.query_params, { vendor: 'X', status: null });
    assert.deepEqual(input.request.body, { vendor: 'X', amount: 120 });
    assert.ok(!JSON.stringify(input).includes('secret'), 'fields the route does not list never reach policy');
  });

  it('keeps the chain outermost first, and only the identity of each actor', () => {
    const outer = { sub: 'procurement-assistant', iss: 'https://agents.dev.local', exp: 1 } as Actor;
    const inner = { sub: 'planner' };
    const input = buildPolicyInput(
      alice({ agent: outer, chain: [outer, inner] }),
      contractList(),
      'GET',
      T0_MS,
      NO_ATTRIBUTES,
    );
    assert.deepEqual(input.agent, { sub: 'procurement-assistant', iss: 'https://agents.dev.local' });
    assert.deepEqual(input.agent_chain, [
      { sub: 'procurement-assistant', iss: 'https://agents.dev.local' },
      { sub: 'planner', iss: null },
    ]);
  });

  it('never carries the token hash, audience or backend address', () => {
    const json = JSON.stringify(
      buildPolicyInput(alice(), contractChange('cancel', '12345'), 'POST', T0_MS, NO_ATTRIBUTES),
    );
    assert.ok(!json.includes(alice().tokenHash));
    assert.ok(!json.includes('procurement.demo.mandate'));
    assert.ok(!json.includes('127.0.0.1'));
  });
});
