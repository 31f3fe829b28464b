import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../temp-dir.ts';
import { ROOT } from './harness.ts';
import { CRM_AUD, startTokenStack, type TokenStack } from './token-exchange-harness.ts';

/**
 * The repository's policies plus one that allows the CRM read for anyone, person or not: no shipped
 * policy lets a background agent through, and this test is about what reaches the backend when one does.
 */
function bundleWithOpenCrmRead(): string {
  const dir = tempDir('mandate-bundle-');
  mkdirSync(join(dir, 'extra'));
  writeFileSync(
    join(dir, 'extra/open_read.rego'),
    'package mandate.policies.open_read\n\ndecision := {"allow": true, "reasons": []}\n',
  );
  execFileSync(
    'opa',
    [
      'build',
      '--target',
      'wasm',
      '--entrypoint',
      'mandate/decision',
      '--entrypoint',
      'mandate/exchange/decision',
      '--ignore',
      '*_test.rego',
      '--output',
      join(dir, 'bundle.tar.gz'),
      join(ROOT, 'rego'),
      join(dir, 'extra'),
    ],
    { stdio: 'pipe' },
  );
  const out = join(dir, 'policy');
  mkdirSync(out);
  execFileSync('tar', ['xzf', join(dir, 'bundle.tar.gz'), '-C', out, '/policy.wasm', '/data.json'], { stdio: 'pipe' });
  return out;
}

describe('a background agent never looks like a user to the backend', () => {
  let tx: TokenStack;
  before(async () => {
    const bundle = bundleWithOpenCrmRead();
    tx = await startTokenStack({
      editConfig: (config) => {
        config.gateway.policy_bundle = bundle;
        const read = config.routes.find((r: { action: string }) => r.action === 'crm.customer.read');
        read.policy = 'open_read';
      },
    });
  });
  after(() => tx.stop());

  /** Reads a customer through the gateway (with identity headers an agent tries to forge) and returns what the CRM received. */
  async function crmReceives(token: string): Promise<Record<string, unknown>> {
    const before = tx.stack.crm.received.length;
    const res = await fetch(`${tx.stack.url}/crm/regions/emea/customers/9821`, {
      headers: {
        authorization: `Bearer ${token}`,
        'x-mandate-user': 'alice',
        'x-mandate-principal': 'user',
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const received = tx.stack.crm.received.slice(before);
    assert.equal(received.length, 1);
    return received[0]!.headers as Record<string, unknown>;
  }

  test('no_user token: no X-Mandate-User at all, X-Mandate-Principal: agent, the agent in X-Mandate-Agent', async () => {
    const { access_token } = await tx.grant(tx.agents.batch, 'client_credentials', {
      resource: CRM_AUD,
      scope: 'crm:read',
    });
    const h = await crmReceives(access_token);
    assert.equal(h['x-mandate-user'], undefined, 'not the agent id, not what the agent sent');
    assert.equal(h['x-mandate-principal'], 'agent');
    assert.equal(h['x-mandate-agent'], 'batch-agent');
    assert.equal(h['x-mandate-action'], 'crm.customer.read');
  });

  test("a user's delegation: X-Mandate-Principal: user and the user in X-Mandate-User", async () => {
    const { access_token } = await tx.delegate(tx.agents.other, { resource: CRM_AUD, scope: 'crm:read' }, 'bob');
    const h = await crmReceives(access_token);
    assert.equal(h['x-mandate-user'], 'bob');
    assert.equal(h['x-mandate-principal'], 'user');
    assert.equal(h['x-mandate-agent'], 'other-agent');
  });
});
