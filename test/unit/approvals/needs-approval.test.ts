import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestDigest } from '../../../gateway/approvals/request-digest.ts';
import { needsApproval } from '../../../gateway/pipeline/3-authorize/approval-gate.ts';

const allowed = (approvalRequired?: boolean) => ({
  allow: true,
  reasons: [],
  policyRevision: 'r',
  ...(approvalRequired === undefined ? {} : { approvalRequired }),
});

describe('needsApproval: the policy decides first, then the tier', () => {
  it('holds a call of tier approval unless the policy waives it', () => {
    assert.equal(needsApproval(allowed(), 'approval'), true);
    assert.equal(needsApproval(allowed(false), 'approval'), false);
  });
  it('holds any call the policy asks for, whatever the tier', () => {
    for (const tier of ['read', 'execute', 'approval'] as const) assert.equal(needsApproval(allowed(true), tier), true);
  });
  it('lets read and execute calls through when the policy says nothing', () => {
    assert.equal(needsApproval(allowed(), 'read'), false);
    assert.equal(needsApproval(allowed(), 'execute'), false);
  });
});

describe('requestDigest', () => {
  it('changes with the method, the target (query included) and every body byte', () => {
    const base = requestDigest('POST', '/a?x=1', Buffer.from('{"v":1}'));
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.notEqual(requestDigest('PUT', '/a?x=1', Buffer.from('{"v":1}')), base);
    assert.notEqual(requestDigest('POST', '/a?x=2', Buffer.from('{"v":1}')), base);
    assert.notEqual(requestDigest('POST', '/a?x=1', Buffer.from('{"v":1} ')), base);
    assert.equal(requestDigest('POST', '/a?x=1', Buffer.from('{"v":1}')), base);
  });
  it('an absent body is the empty body', () => {
    assert.equal(requestDigest('GET', '/a', undefined), requestDigest('GET', '/a', Buffer.alloc(0)));
  });
});
