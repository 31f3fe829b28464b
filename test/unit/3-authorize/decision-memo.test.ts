import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Decision } from '../../../gateway/pipeline/3-authorize/decision.ts';
import { DecisionMemo } from '../../../gateway/pipeline/3-authorize/decision-memo.ts';
import { tempDir } from '../../temp-dir.ts';

const dir = tempDir('mandate-input-paths-');
let modules = 0;

/** What scripts/policy-input-paths.ts (real `opa parse`) finds in one Rego module. */
function pathsRead(rego: string): unknown {
  const src = join(dir, `m${modules++}`);
  mkdirSync(src);
  writeFileSync(join(src, 'policy.rego'), rego);
  writeFileSync(join(src, 'policy_test.rego'), 'package t\n\ntest_all if input.in_a_test_only\n');
  const out = execFileSync(process.execPath, ['scripts/policy-input-paths.ts', src], { encoding: 'utf8' });
  return JSON.parse(out).paths;
}

const memo = (paths: string[][]) => DecisionMemo.forBundle({ version: 1, paths })!;
const decision = (allow: boolean): Decision => ({ allow, reasons: [], policyRevision: 'r' });

describe('the input paths a policy reads (scripts/policy-input-paths.ts)', () => {
  it('follows refs to their constant prefix, inside calls, comprehensions, imports and data lookups', () => {
    const rego = `package p

import input.token as t

f(x) := x.id

allowed if {
	some k in input.request.params
	k != ""
	data.routes[input.route.policy].open
	f(input.resource) == "1"
	[v | v := input.agent_chain[_].sub]
	t.scopes[0] == "a"
}

decision := {"allow": allowed, "reasons": []}
`;
    assert.deepEqual(pathsRead(rego), [
      ['agent_chain'],
      ['request', 'params'],
      ['resource'],
      ['route', 'policy'],
      ['token'],
    ]);
  });

  it('a path inside another is left out; test modules are not read', () => {
    assert.deepEqual(pathsRead('package p\n\na := input.user.attributes.roles\n\nb := input.user\n'), [['user']]);
  });

  it('input as a whole value, or indexed by a variable from the top, reads everything: null', () => {
    assert.equal(pathsRead('package p\n\na := input\n'), null);
    assert.equal(pathsRead('package p\n\na := walk(input)\n'), null);
    assert.equal(pathsRead('package p\n\na := input[k] if k := "time"\n'), null);
  });
});

describe('DecisionMemo', () => {
  it('keys on the values at the paths only: absent, null and an undefined member are told apart right', () => {
    const m = memo([['a'], ['b', 'c']]);
    assert.equal(m.keyOf({ a: 1, b: { c: 2 }, other: 3 }), m.keyOf({ a: 1, b: { c: 2 }, other: 4 }));
    assert.notEqual(m.keyOf({ a: 1, b: { c: 2 } }), m.keyOf({ a: 1, b: { c: 3 } }));
    // Absent is not null; a member whose value is undefined never reaches the policy's JSON: absent.
    assert.notEqual(m.keyOf({ a: null }), m.keyOf({}));
    assert.equal(m.keyOf({ a: undefined }), m.keyOf({}));
    // Rego reads no array element by a string key, nor a member of a non-object.
    assert.equal(m.keyOf({ a: 1, b: ['x'] }), m.keyOf({ a: 1 }));
    assert.equal(m.keyOf({ a: 1, b: 'c' }), m.keyOf({ a: 1 }));
  });

  it('remembers nothing when the policy reads the whole input, the time or the limits', () => {
    assert.equal(DecisionMemo.forBundle(undefined), undefined);
    assert.equal(DecisionMemo.forBundle({ version: 1, paths: null }), undefined);
    assert.equal(DecisionMemo.forBundle({ version: 1, paths: [['action'], ['time', 'unix_ms']] }), undefined);
    assert.equal(DecisionMemo.forBundle({ version: 1, paths: [['limits']] }), undefined);
    assert.equal(DecisionMemo.forBundle({ version: 1, paths: [[]] }), undefined);
    assert.ok(DecisionMemo.forBundle({ version: 1, paths: [] }), 'a policy reading nothing of its input');
    for (const bad of [null, {}, { version: 2, paths: [] }, { version: 1, paths: [['a', 1]] }, { version: 1 }]) {
      assert.throws(() => DecisionMemo.forBundle(bad), /input-paths\.json/);
    }
  });

  it('holds at most its capacity, forgetting the least recently used first', () => {
    const m = DecisionMemo.forBundle({ version: 1, paths: [['a']] }, 2)!;
    const [k1, k2, k3] = [1, 2, 3].map((a) => m.keyOf({ a }));
    m.set(k1!, decision(true));
    m.set(k2!, decision(false));
    assert.ok(m.get(k1!), 'k1 used: k2 is now the oldest');
    m.set(k3!, decision(true));
    assert.equal(m.size, 2);
    assert.equal(m.get(k2!), undefined);
    assert.ok(m.get(k1!));
    assert.ok(m.get(k3!));
  });
});
