import { createHash } from 'node:crypto';
import type { Config } from '../../gateway/config/load.ts';
import type { Claims, Seen, Step } from '../demo.ts';

/** What the chapter needs from the demo: the gateway, its config, token signing, and the step printer. */
export interface ApprovalContext {
  readonly gatewayUrl: string;
  readonly config: Config;
  /** Signs a token with the development key (the demo's stand-in for the token service and the IdP). */
  readonly mint: (claims: Claims) => Promise<string>;
  /** Runs one agent call through the gateway and prints it side by side with what the backend received. */
  readonly run: (step: Step) => Promise<Seen>;
  /** The calls whose audit events the demo prints at the end; the user's own calls are added here. */
  readonly correlationIds: string[];
}

const CONTRACT = '12347';
const TERMINATE = `/procurement/contracts/${CONTRACT}/terminate`;

/**
 * The demo's "an approval given" chapter (issue #4, staged authorization): terminating a contract
 * cannot be undone, so routes.yaml makes it tier `approval`. alice's agent asks; Mandate holds the
 * call (403 MANDATE_APPROVAL_REQUIRED with the approval id) and forwards nothing. The agent cannot
 * approve for her; alice, with her own IdP token, sees exactly what will happen and approves. The
 * agent's retry of the same request is forwarded once; a replay is refused. The audit trail shows
 * approval_requested, approval_granted and approval_used. Returns the problems found, if any.
 */
export async function approvalChapter(ctx: ApprovalContext, alice: Claims): Promise<string[]> {
  const problems: string[] = [];
  const idp = ctx.config.identity_providers.find((i) => i.issuer === ctx.config.dev?.issuer);
  if (idp === undefined)
    return ['approval: routes.yaml has no identity provider for the dev issuer; no user can approve'];

  const claims: Claims = {
    ...alice,
    txn: `${alice.txn}-approval`,
    authorizationDetails: [{ type: 'procurement_contract', actions: ['terminate'], identifier: CONTRACT, vendor: 'Y' }],
    intent: 'terminate our cloud hosting contract 12347 with vendor Y at the end of the year',
  };
  const body = JSON.stringify({ reason: 'moving to the new hosting provider', effective: '2026-12-31' });
  const nothingForwarded = (code: string) => (s: Seen) => {
    if (s.status !== 403 || s.body.code !== code) return `expected 403 ${code}`;
    return s.received ? 'the backend received a held call' : undefined;
  };

  console.log('\nA call held for the user: terminating a contract is tier `approval` in routes.yaml.');
  const held = await ctx.run({
    title: `alice's agent terminates contract ${CONTRACT} — intent: "${claims.intent}"`,
    method: 'POST',
    path: TERMINATE,
    claims,
    body,
    expect: nothingForwarded('MANDATE_APPROVAL_REQUIRED'),
  });
  const id = held.body.approval_id as string | undefined;
  if (id === undefined) return [...problems, 'approval: the held call carried no approval_id'];

  // The user's side: the approvals API, with her own IdP access token (a chat front-end would do this).
  const userCall = async (bearer: string, path: string, method = 'GET') => {
    const res = await fetch(`${ctx.gatewayUrl}/_mandate/approvals${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}` },
    });
    ctx.correlationIds.push(res.headers.get('x-mandate-correlation-id') ?? '');
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  const byAgent = await userCall(held.token, `/${id}/approve`, 'POST');
  console.log(
    `\n  The agent tries to approve it itself, with its delegation token: ${byAgent.status} ${byAgent.body.code}`,
  );
  if (byAgent.body.code !== 'MANDATE_APPROVER_IS_AGENT')
    problems.push('approval: the agent was not refused as approver');

  const aliceToken = await ctx.mint({
    user: 'alice',
    agents: [],
    // Her token for approving (approver_audiences), not the exchange token her agent holds.
    audience: idp.approver_audiences![0]!,
    extra: { roles: ['procurement'] },
  });
  const pending = await userCall(aliceToken, '');
  const shown = (pending.body.approvals ?? []).find((a: { id: string }) => a.id === id);
  console.log(`  alice, signed in with her own IdP token, lists what waits for her (GET /_mandate/approvals):`);
  if (shown === undefined) {
    problems.push('approval: the held call is not in alice’s pending approvals');
  } else {
    console.log(`    ${shown.method} ${shown.path}   (${shown.action}, ${shown.resource.type} ${shown.resource.id})`);
    console.log(`    body: ${shown.body}`);
    console.log(
      `    asked by: ${shown.agent_chain.map((a: { sub: string }) => a.sub).join(' ← ')}, on task ${shown.txn}`,
    );
    console.log(`    her instruction: "${shown.intent}"; expires ${shown.expires_at}`);
  }
  const approved = await userCall(aliceToken, `/${id}/approve`, 'POST');
  console.log(
    `  She approves (POST /_mandate/approvals/${id}/approve): ${approved.status} ${approved.body.approval?.status ?? approved.body.code}`,
  );
  if (approved.status !== 200 || approved.body.approval?.decided_by !== 'alice') {
    problems.push(`approval: alice's approval answered ${approved.status}`);
  }

  const retry = { method: 'POST', path: TERMINATE, claims, body, headers: { 'x-mandate-approval': id } };
  await ctx.run({
    ...retry,
    title: 'the agent retries the same request with X-Mandate-Approval: forwarded once, the exact bytes',
    expect: (s) => {
      if (!s.received) return 'the backend did not receive the approved call';
      if (s.received.headers['x-mandate-approval'] !== undefined) return 'the approval id reached the backend';
      if (s.received.bodySha256 !== createHash('sha256').update(body).digest('hex')) {
        return 'the backend did not receive the approved bytes';
      }
      // 409 "already terminated" when a long-running demo backend served an earlier run: still forwarded.
      return s.status === 200 || s.status === 409 ? undefined : `backend answered ${s.status}`;
    },
  });
  await ctx.run({
    ...retry,
    title: 'the agent sends it again with the same approval: an approval is used once',
    expect: nothingForwarded('MANDATE_APPROVAL_USED'),
  });
  return problems;
}
