import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { MandateError } from '../../../gateway/errors.ts';
import { authorize as authorizeInput } from '../../../gateway/pipeline/3-authorize/authorize.ts';
import { loadPolicyEngine, type PolicyEngine } from '../../../gateway/pipeline/3-authorize/engine.ts';
import { buildPolicyInput } from '../../../gateway/pipeline/3-authorize/policy-input.ts';
import { alice, bob, buildBundle, contractChange, contractList, customer, NO_ATTRIBUTES, T0_MS } from './fixtures.ts';

/** `authorize` on the input the pipeline would build for this call. */
const authorize = (engine: PolicyEngine, ...call: Parameters<typeof buildPolicyInput>) =>
  authorizeInput(engine, buildPolicyInput(...call));

/** Asserts the call is denied by policy with exactly these reasons. */
function assertDenied(call: () => unknown, policyReasons: readonly string[]): void {
  assert.throws(call, (error: unknown) => {
    assert.ok(error instanceof MandateError);
    assert.equal(error.code, 'MANDATE_AUTHZ_DENIED');
    assert.deepEqual(error.policyReasons, policyReasons);
    return true;
  });
}

describe('authorize with the real policy bundle', () => {
  let engine: PolicyEngine;
  before(async () => {
    engine = await loadPolicyEngine(buildBundle(), () => T0_MS);
  });

  describe('procurement: the intent names cancel on contract 12345', () => {
    it('allows cancelling 12345', () => {
      const decision = authorize(engine, alice(), contractChange('cancel', '12345'), 'POST', T0_MS, NO_ATTRIBUTES);
      assert.deepEqual(decision, { allow: true, reasons: [], policyRevision: engine.revision });
    });

    it('denies cancelling 12346: the agent drifted from the intent', () => {
      assertDenied(
        () => authorize(engine, alice(), contractChange('cancel', '12346'), 'POST', T0_MS, NO_ATTRIBUTES),
        ['intent.identifier_mismatch'],
      );
    });

    it('denies pausing 12345: not the action the user intended', () => {
      assertDenied(
        () => authorize(engine, alice(), contractChange('pause', '12345'), 'POST', T0_MS, NO_ATTRIBUTES),
        ['intent.action_not_authorized'],
      );
    });

    it('denies cancelling without the write scope, saying which scope is missing', () => {
      assertDenied(
        () =>
          authorize(
            engine,
            alice({ scopes: ['procurement:read'] }),
            contractChange('cancel', '12345'),
            'POST',
            T0_MS,
            NO_ATTRIBUTES,
          ),
        ['scope.missing:procurement:write'],
      );
    });

    it('allows listing contracts without any intent', () => {
      assert.equal(
        authorize(engine, alice({ authorizationDetails: [] }), contractList(), 'GET', T0_MS, NO_ATTRIBUTES).allow,
        true,
      );
    });

    it('denies a user without the procurement role', () => {
      assertDenied(
        () => authorize(engine, bob(), contractList(), 'GET', T0_MS, NO_ATTRIBUTES),
        ['role.missing:procurement', 'scope.missing:procurement:read'],
      );
    });
  });

  describe('crm: support reads customers of their own region', () => {
    it('allows bob to read an EMEA customer', () => {
      assert.equal(authorize(engine, bob(), customer('read', 'emea', '42'), 'GET', T0_MS, NO_ATTRIBUTES).allow, true);
    });

    it('denies bob an AMER customer', () => {
      assertDenied(
        () => authorize(engine, bob(), customer('read', 'amer', '42'), 'GET', T0_MS, NO_ATTRIBUTES),
        ['region.mismatch'],
      );
    });

    it('denies bob updating a customer', () => {
      assertDenied(
        () => authorize(engine, bob(), customer('update', 'emea', '42'), 'PATCH', T0_MS, NO_ATTRIBUTES),
        ['role.missing:crm_editor', 'scope.missing:crm:write'],
      );
    });
  });

  it('denies, rather than errors, on a route whose policy does not exist', () => {
    assertDenied(
      () => authorize(engine, alice(), contractChange('cancel', '12345', 'billing'), 'POST', T0_MS, NO_ATTRIBUTES),
      ['policy.not_found'],
    );
  });

  it('denies every route of the default policy', () => {
    assertDenied(
      () => authorize(engine, alice(), contractChange('cancel', '12345', 'default'), 'POST', T0_MS, NO_ATTRIBUTES),
      ['policy.default_deny'],
    );
  });

  it('denies a principal without an agent, whatever the route policy says', () => {
    assertDenied(
      () => authorize(engine, alice({ chain: [] }), contractChange('cancel', '12345'), 'POST', T0_MS, NO_ATTRIBUTES),
      ['agent.missing'],
    );
  });
});

describe('authorize', () => {
  it('lets a policy error through: it denies with 500, not 403', () => {
    const broken: PolicyEngine = {
      revision: '0'.repeat(64),
      evaluate() {
        throw new MandateError('MANDATE_AUTHZ_POLICY_ERROR', 'the policy returned no decision');
      },
      evaluateEntrypoint() {
        throw new MandateError('MANDATE_AUTHZ_POLICY_ERROR', 'the policy returned no decision');
      },
    };
    assert.throws(() => authorize(broken, alice(), contractList(), 'GET', T0_MS, NO_ATTRIBUTES), {
      name: 'MandateError',
      code: 'MANDATE_AUTHZ_POLICY_ERROR',
    });
  });
});
