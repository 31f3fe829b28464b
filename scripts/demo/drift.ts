import type { Claims, Seen, Step } from '../demo.ts';

/**
 * The demo's "drift refused" chapter (issue #4, intent binding): alice's intent names contract 12345
 * of vendor X and a purchase order from X of at most 5000 EUR. The agent tries the whole vendor
 * relationship and a bigger order; Mandate refuses each, naming what did not match, and lets the
 * order within her intent through byte for byte.
 */
export function driftSteps(
  alice: Claims,
  forwarded: (s: Seen) => string | undefined,
  refused: (reason: string) => (s: Seen) => string | undefined,
): Step[] {
  const order = (amount: number) => JSON.stringify({ vendor: 'X', amount, currency: 'EUR' });
  return [
    {
      title: 'the agent cancels every vendor-X contract, not just the one alice named',
      method: 'POST',
      path: '/procurement/contracts/cancel?vendor=X',
      claims: alice,
      expect: refused('intent.identifier_mismatch'),
    },
    {
      title: 'the agent orders 6000 EUR from vendor X (alice allowed at most 5000 EUR)',
      method: 'POST',
      path: '/procurement/purchase-orders',
      claims: alice,
      body: order(6000),
      expect: refused('intent.amount_exceeds'),
    },
    {
      title: 'the agent orders 4200 EUR from vendor X: within the intent, forwarded as sent',
      method: 'POST',
      path: '/procurement/purchase-orders',
      claims: alice,
      body: order(4200),
      expect: (s) => forwarded(s) ?? (s.status === 201 ? undefined : `backend answered ${s.status}`),
    },
  ];
}
