import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayEvent } from '../../../gateway/pipeline/6-audit/gateway-event.ts';

const origin = {
  correlationId: '0123456789abcdef0123456789abcdef',
  method: 'CLI',
  path: 'mandate revoke',
  status: null,
};

test('every request column the subject does not fill is null; origin and detail are carried as given', () => {
  const event = gatewayEvent('revocation', Date.UTC(2026, 0, 2, 3, 4, 5, 6), origin, { user: 'alice' }, { a: 1 });
  const notNull = Object.fromEntries(Object.entries(event).filter(([, value]) => value !== null));
  assert.deepEqual(notNull, {
    kind: 'revocation',
    time: '2026-01-02T03:04:05.006Z',
    correlationId: origin.correlationId,
    user: 'alice',
    method: 'CLI',
    path: 'mandate revoke',
    policyReasons: [],
    detail: { a: 1 },
  });
});

test('the subject fills only the columns it shares with calls; a call-only column never comes from it', () => {
  const chain = [{ sub: 'hr-agent', iss: 'https://idp.example' }];
  const event = gatewayEvent(
    'approval_granted',
    0,
    { ...origin, method: 'POST', path: '/_mandate/approvals/x/approve', status: 200 },
    {
      user: 'alice',
      agent: 'hr-agent',
      actorChain: chain,
      jti: 'j1',
      txn: 't1',
      intent: 'cancel',
      action: 'contract.cancel',
      resourceType: 'contract',
      resourceId: '12345',
      policyRevision: 'rev-1',
    },
    {},
  );
  assert.equal(event.status, 200);
  assert.deepEqual(
    [event.user, event.agent, event.actorChain, event.jti, event.txn, event.intent, event.action],
    ['alice', 'hr-agent', chain, 'j1', 't1', 'cancel', 'contract.cancel'],
  );
  assert.deepEqual([event.resourceType, event.resourceId, event.policyRevision], ['contract', '12345', 'rev-1']);
  // What only a forwarded call has stays null: no token hash, backend, decision, credential or bytes.
  assert.deepEqual(
    [event.tokenHash, event.backend, event.decision, event.reason, event.credential, event.durationMs, event.bytesIn],
    [null, null, null, null, null, null, null],
  );
});
