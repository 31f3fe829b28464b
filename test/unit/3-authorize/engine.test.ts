import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadPolicyEngine, PolicyBundleError } from '../../../gateway/pipeline/3-authorize/engine.ts';
import { buildPolicyInput, type PolicyInput } from '../../../gateway/pipeline/3-authorize/policy-input.ts';
import { alice, buildBundle, compileBundle, contractChange, NO_ATTRIBUTES, T0_MS } from './fixtures.ts';

const clock = () => T0_MS;
const aliceCancels = (attributes: Record<string, unknown> = {}): PolicyInput =>
  buildPolicyInput(alice({ attributes }), contractChange('cancel', '12345'), 'POST', T0_MS, NO_ATTRIBUTES);

/** A bundle whose whole policy is `package mandate` plus `body`. */
const bundleOf = (body: string) => compileBundle(`package mandate\n\n${body}\n`);

const policyError = { name: 'MandateError', code: 'MANDATE_AUTHZ_POLICY_ERROR' };

let real: string;
before(() => {
  real = buildBundle();
});

describe('loadPolicyEngine', () => {
  it('revision is the hex SHA-256 of policy.wasm, data.json, then input-paths.json', async () => {
    const engine = await loadPolicyEngine(real, clock);
    const expected = createHash('sha256')
      .update(readFileSync(join(real, 'policy.wasm')))
      .update(readFileSync(join(real, 'data.json')))
      .update(readFileSync(join(real, 'input-paths.json')))
      .digest('hex');
    assert.match(engine.revision, /^[0-9a-f]{64}$/);
    assert.equal(engine.revision, expected);
    assert.equal(engine.evaluate(aliceCancels({ roles: ['procurement'] })).policyRevision, engine.revision);
  });

  it('carries the optional approval_required, absent when the policy says nothing', async () => {
    const held = await loadPolicyEngine(
      bundleOf('decision := {"allow": true, "reasons": [], "approval_required": true}'),
      clock,
    );
    const waived = await loadPolicyEngine(
      bundleOf('decision := {"allow": true, "reasons": [], "approval_required": false}'),
      clock,
    );
    const silent = await loadPolicyEngine(bundleOf('decision := {"allow": true, "reasons": []}'), clock);
    assert.equal(held.evaluate(aliceCancels()).approvalRequired, true);
    assert.equal(waived.evaluate(aliceCancels()).approvalRequired, false);
    assert.ok(!('approvalRequired' in silent.evaluate(aliceCancels())));
  });

  it('revision changes when the policy changes', async () => {
    const allow = await loadPolicyEngine(bundleOf('decision := {"allow": true, "reasons": []}'), clock);
    const deny = await loadPolicyEngine(bundleOf('decision := {"allow": false, "reasons": []}'), clock);
    assert.notEqual(allow.revision, deny.revision);
    assert.equal(allow.evaluate(aliceCancels()).allow, true);
    assert.equal(deny.evaluate(aliceCancels()).allow, false);
  });

  it('returns the decision with its reasons', async () => {
    const engine = await loadPolicyEngine(bundleOf('decision := {"allow": false, "reasons": ["a.b", "c.d"]}'), clock);
    assert.deepEqual(engine.evaluate(aliceCancels()), {
      allow: false,
      reasons: ['a.b', 'c.d'],
      policyRevision: engine.revision,
    });
  });

  it('passes input and result through Wasm memory intact: any Unicode, any size (memory grows)', async () => {
    const engine = await loadPolicyEngine(
      bundleOf('decision := {"allow": true, "reasons": [input.token.intent]}'),
      clock,
    );
    const base = aliceCancels();
    for (const intent of ['Kündige Vertrag 12345 — “sofort” 契約 🧾', `${'ä'.repeat(200_000)}🧾`]) {
      const decision = engine.evaluate({ ...base, token: { ...base.token, intent } });
      assert.deepEqual(decision.reasons, [intent]);
    }
    // Memory grown for one large input serves the next small one.
    assert.deepEqual(engine.evaluate({ ...base, token: { ...base.token, intent: 'ok' } }).reasons, ['ok']);
  });

  it('supplies time.now_ns from the injected clock, constant within one evaluation', async () => {
    let calls = 0;
    const ticking = () => T0_MS + 1000 * calls++;
    const engine = await loadPolicyEngine(
      bundleOf(
        [
          'first := time.now_ns()',
          'second := time.now_ns()',
          // Not format_int: OPA's Wasm format_int fails on numbers this large (Go's does not).
          'decision := {"allow": first == second, "reasons": [json.marshal(first)]}',
        ].join('\n'),
      ),
      ticking,
    );
    assert.deepEqual(engine.evaluate(aliceCancels()).reasons, [`${BigInt(T0_MS) * 1_000_000n}`]);
    assert.equal(engine.evaluate(aliceCancels()).allow, true);
    assert.deepEqual(engine.evaluate(aliceCancels()).reasons, [`${BigInt(T0_MS + 2000) * 1_000_000n}`]);
    assert.equal(calls, 3, 'one clock reading per evaluation');
  });

  it('does not read the clock for policies that do not ask the time', async () => {
    let calls = 0;
    const engine = await loadPolicyEngine(real, () => {
      calls++;
      return T0_MS;
    });
    engine.evaluate(aliceCancels({ roles: ['procurement'] }));
    assert.equal(calls, 0);
  });

  it('refuses a bundle that calls builtins the gateway does not provide, naming them all', async () => {
    const bundle = bundleOf(
      'decision := {"allow": true, "reasons": [sprintf("%d", [time.parse_rfc3339_ns("2030-01-01T00:00:00Z")])]}',
    );
    await assert.rejects(loadPolicyEngine(bundle, clock), (error: Error) => {
      assert.ok(error instanceof PolicyBundleError);
      assert.match(error.message, /sprintf/);
      assert.match(error.message, /time\.parse_rfc3339_ns/);
      return true;
    });
  });

  it('refuses a bundle without the mandate/decision entrypoint', async () => {
    const bundle = compileBundle('package other\n\nallow := true\n', 'other/allow');
    await assert.rejects(loadPolicyEngine(bundle, clock), PolicyBundleError);
  });

  it('refuses a missing bundle, and data.json that is not JSON', async () => {
    await assert.rejects(loadPolicyEngine(join(real, 'missing'), clock), PolicyBundleError);
    const bundle = bundleOf('decision := {"allow": true, "reasons": []}');
    writeFileSync(join(bundle, 'data.json'), '{');
    await assert.rejects(loadPolicyEngine(bundle, clock), PolicyBundleError);
  });

  it('refuses a file that is not a Wasm module', async () => {
    const bundle = bundleOf('decision := {"allow": true, "reasons": []}');
    writeFileSync(join(bundle, 'policy.wasm'), 'not wasm');
    await assert.rejects(loadPolicyEngine(bundle, clock), PolicyBundleError);
  });
});

describe('PolicyEngine.evaluate fails closed', () => {
  const malformed: Record<string, string> = {
    'an undefined decision': 'decision := {"allow": true, "reasons": []} if input.never',
    'a decision that is not an object': 'decision := true',
    'a missing allow': 'decision := {"reasons": []}',
    'a non-boolean allow': 'decision := {"allow": "true", "reasons": []}',
    'missing reasons': 'decision := {"allow": true}',
    'reasons that are not an array': 'decision := {"allow": false, "reasons": "denied"}',
    'a reason that is not a string': 'decision := {"allow": false, "reasons": ["denied", 7]}',
    'a non-boolean approval_required': 'decision := {"allow": true, "reasons": [], "approval_required": "yes"}',
  };
  for (const [shape, body] of Object.entries(malformed)) {
    it(`${shape} is a policy error`, async () => {
      const engine = await loadPolicyEngine(bundleOf(body), clock);
      assert.throws(() => engine.evaluate(aliceCancels()), policyError);
    });
  }

  it('an evaluation error is a policy error, and does not poison later evaluations', async () => {
    // Two values for one complete rule: OPA aborts the evaluation (conflict error).
    const engine = await loadPolicyEngine(
      bundleOf(
        [
          'decision := {"allow": true, "reasons": []} if input.user.attributes.a',
          'decision := {"allow": false, "reasons": []} if input.user.attributes.b',
        ].join('\n'),
      ),
      clock,
    );
    assert.throws(
      () => engine.evaluate(aliceCancels({ a: true, b: true })),
      (error: Error & { detail?: string }) => {
        assert.equal(error.name, 'MandateError');
        assert.equal(error.detail, 'policy evaluation failed', 'no internals in the detail');
        return true;
      },
    );
    assert.equal(engine.evaluate(aliceCancels({ a: true })).allow, true);
  });

  it('a clock that throws is a policy error', async () => {
    const engine = await loadPolicyEngine(bundleOf('decision := {"allow": time.now_ns() > 0, "reasons": []}'), () => {
      throw new Error('clock broke');
    });
    assert.throws(() => engine.evaluate(aliceCancels()), policyError);
  });
});

describe('PolicyEngine.evaluate remembers decisions by the input the policy reads', () => {
  const at = (input: PolicyInput, unixMs: number, path = input.request.path): PolicyInput => ({
    ...input,
    time: { unix_ms: unixMs, iso: new Date(unixMs).toISOString() },
    request: { ...input.request, path },
  });

  it('the real bundle lists what its policies read, never the time, the limits or the whole input', () => {
    const { version, paths } = JSON.parse(readFileSync(join(real, 'input-paths.json'), 'utf8'));
    assert.equal(version, 1);
    assert.ok(Array.isArray(paths) && paths.length > 0);
    const roots = new Set(paths.map((p: string[]) => p[0]));
    for (const read of ['action', 'route', 'token', 'user', 'agent_chain']) assert.ok(roots.has(read), read);
    for (const unread of ['time', 'limits']) assert.ok(!roots.has(unread), unread);
  });

  it('an input differing only where the policy does not read gets the decision already made', async () => {
    const engine = await loadPolicyEngine(
      bundleOf('decision := {"allow": input.action == "procurement.contract.cancel", "reasons": [input.route.tier]}'),
      clock,
    );
    const first = engine.evaluate(aliceCancels());
    // Another time and path: neither is read, so the same (frozen) decision object comes back.
    assert.equal(engine.evaluate(at(aliceCancels(), T0_MS + 5000, '/elsewhere')), first);
    // What is read decides: another action is evaluated afresh.
    const other = engine.evaluate({ ...aliceCancels(), action: 'procurement.contract.pause' });
    assert.notEqual(other, first);
    assert.equal(other.allow, false);
  });

  it('a policy reading the time, the limits or the whole input is evaluated every time', async () => {
    const policies = {
      time: 'decision := {"allow": input.time.unix_ms < 1893456001000, "reasons": []}',
      limits: 'decision := {"allow": input.limits == null, "reasons": [input.request.path]}',
      whole: 'everything := input\n\ndecision := {"allow": everything.time.unix_ms < 1893456001000, "reasons": []}',
      dynamic: 'decision := {"allow": input[k].unix_ms < 1893456001000, "reasons": []} if k := "time"',
    };
    for (const [reads, rego] of Object.entries(policies)) {
      const engine = await loadPolicyEngine(bundleOf(rego), clock);
      const before = aliceCancels();
      if (reads === 'limits') {
        assert.equal(engine.evaluate(before).allow, true, reads);
        const counted = { ...before, limits: { window_seconds: 60, task: null, agent: null, user: null } };
        assert.equal(engine.evaluate(counted as unknown as PolicyInput).allow, false, reads);
        continue;
      }
      // T0 is 2030-01-01T00:00:00Z = 1893456000000: allowed at T0, refused two seconds later.
      assert.equal(engine.evaluate(at(before, T0_MS)).allow, true, reads);
      assert.equal(engine.evaluate(at(before, T0_MS + 2000)).allow, false, reads);
    }
  });

  it('a decision that read the clock is not remembered', async () => {
    let nowMs = T0_MS;
    const engine = await loadPolicyEngine(
      bundleOf('decision := {"allow": time.now_ns() < 1893456001000000000, "reasons": [input.action]}'),
      () => nowMs,
    );
    assert.equal(engine.evaluate(aliceCancels()).allow, true);
    nowMs += 2000;
    assert.equal(engine.evaluate(aliceCancels()).allow, false);
  });

  it('a bundle without input-paths.json is evaluated every time; a malformed one is refused', async () => {
    const rego = 'decision := {"allow": true, "reasons": [input.request.path]}';
    const bare = bundleOf(rego);
    rmSync(join(bare, 'input-paths.json'));
    const engine = await loadPolicyEngine(bare, clock);
    assert.notEqual(engine.evaluate(aliceCancels()), engine.evaluate(aliceCancels()));
    const broken = bundleOf(rego);
    writeFileSync(join(broken, 'input-paths.json'), '{"version": 1, "paths": [["request", 7]]}');
    await assert.rejects(loadPolicyEngine(broken, clock), PolicyBundleError);
  });
});
