import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendConfig } from '../../../gateway/config/schema.ts';
import type { Principal } from '../../../gateway/pipeline/1-authenticate/principal.ts';
import type { RequestAttributes } from '../../../gateway/pipeline/2-resolve/request-attributes.ts';
import type { RouteMatch } from '../../../gateway/pipeline/2-resolve/route-match.ts';
import { tempDir } from '../../temp-dir.ts';

/** Shared set-up for the stage-3 tests: real policy bundles and the demo story's principals and routes. */

/** 2030-01-01T00:00:00Z: far from the real clock, so nothing passes by accident. */
export const T0_MS = Date.UTC(2030, 0, 1);

/** A route that exposes no query parameter and does not read its body. */
export const NO_ATTRIBUTES: RequestAttributes = { queryParams: {}, body: undefined };

/** The real bundle: rego/ compiled by scripts/build-policy.sh, exactly as the gateway gets it. */
export function buildBundle(): string {
  const out = tempDir('mandate-authz-policy-');
  execFileSync('bash', ['scripts/build-policy.sh', out], { stdio: 'pipe' });
  return out;
}

/**
 * A throwaway bundle compiled from one Rego module, for shapes the real policies never produce; with
 * its input-paths.json, like the real build.
 */
export function compileBundle(rego: string, entrypoint = 'mandate/decision'): string {
  const src = tempDir('mandate-authz-rego-');
  writeFileSync(join(src, 'policy.rego'), rego);
  execFileSync(
    'opa',
    ['build', '--target', 'wasm', '--entrypoint', entrypoint, '--output', join(src, 'bundle.tar.gz'), src],
    {
      stdio: 'pipe',
    },
  );
  const out = tempDir('mandate-authz-bundle-');
  execFileSync('tar', ['xzf', join(src, 'bundle.tar.gz'), '-C', out], { stdio: 'pipe' });
  // As scripts/build-policy.sh does: the input paths the module reads, by which decisions are remembered.
  const inputPaths = execFileSync(process.execPath, ['scripts/policy-input-paths.ts', src], { encoding: 'utf8' });
  writeFileSync(join(out, 'input-paths.json'), inputPaths);
  return out;
}

/** Alice, a procurement officer, who asked her agent to cancel contract 12345. */
export function alice(overrides: Partial<Principal> = {}): Principal {
  return {
    user: 'alice',
    issuer: 'https://mandate.dev.local',
    agent: { sub: 'procurement-assistant', iss: 'https://agents.dev.local' },
    chain: [{ sub: 'procurement-assistant', iss: 'https://agents.dev.local' }],
    jti: 'jti-alice-1',
    audience: ['https://procurement.demo.mandate'],
    scopes: ['procurement:read', 'procurement:write'],
    authorizationDetails: [{ type: 'procurement_contract', actions: ['cancel'], identifier: '12345' }],
    txn: 'task-8841',
    intent: 'Cancel contract 12345, the supplier went bankrupt',
    clientId: 'procurement-assistant',
    issuedAt: T0_MS / 1000 - 60,
    expiresAt: T0_MS / 1000 + 240,
    attributes: { roles: ['procurement'], region: 'emea' },
    tokenHash: 'a'.repeat(64),
    ...overrides,
  };
}

/** Bob, a support agent in EMEA, whose agent looks customers up; no intent, no task id. */
export function bob(overrides: Partial<Principal> = {}): Principal {
  return alice({
    user: 'bob',
    agent: { sub: 'support-assistant' },
    chain: [{ sub: 'support-assistant' }],
    jti: 'jti-bob-1',
    audience: ['https://crm.demo.mandate'],
    scopes: ['crm:read'],
    authorizationDetails: [],
    txn: undefined,
    intent: undefined,
    clientId: undefined,
    attributes: { roles: ['support'], region: 'emea' },
    ...overrides,
  });
}

function backend(name: string): BackendConfig {
  return {
    name,
    url: `http://127.0.0.1:1/${name}`,
    audience: `https://${name}.demo.mandate`,
    credential: { type: 'none', name: 'none' },
    identity_headers: true,
    forward_headers: [],
    timeouts: { connect_ms: 2_000, headers_ms: 30_000, body_ms: 60_000 },
    connections: 128,
  };
}

/** POST /procurement/contracts/{contract_id}/{verb}, as routes.yaml maps it. */
export function contractChange(verb: 'cancel' | 'pause', contractId: string, policy = 'procurement'): RouteMatch {
  const path = `/procurement/contracts/${contractId}/${verb}`;
  return {
    action: `procurement.contract.${verb}`,
    resource: { type: 'contract', id: contractId },
    params: { contract_id: contractId },
    path,
    query: '',
    backend: backend('procurement'),
    upstreamPath: `/contracts/${contractId}/${verb}`,
    policy,
    template: `/procurement/contracts/{contract_id}/${verb}`,
    websocket: false,
    tier: 'execute',
    attributes: { query: [], body: undefined },
  };
}

/** GET (read) or PATCH (update) /crm/regions/{region}/customers/{customer_id}. */
export function customer(verb: 'read' | 'update', region: string, customerId: string): RouteMatch {
  return {
    action: `crm.customer.${verb}`,
    resource: { type: 'customer', id: customerId },
    params: { region, customer_id: customerId },
    path: `/crm/regions/${region}/customers/${customerId}`,
    query: '',
    backend: backend('crm'),
    upstreamPath: `/regions/${region}/customers/${customerId}`,
    policy: 'crm',
    template: '/crm/regions/{region}/customers/{customer_id}',
    websocket: false,
    tier: verb === 'read' ? 'read' : 'execute',
    attributes: { query: [], body: undefined },
  };
}

/** GET /procurement/contracts?status=active: a collection, so no resource id. */
export function contractList(): RouteMatch {
  return {
    ...contractChange('cancel', '0'),
    action: 'procurement.contract.list',
    resource: { type: 'contract_collection', id: undefined },
    params: {},
    path: '/procurement/contracts',
    query: '?status=active',
    upstreamPath: '/contracts?status=active',
    template: '/procurement/contracts',
  };
}
