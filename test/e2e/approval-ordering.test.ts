import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTokenStack, type TokenStack } from './token-exchange-harness.ts';

/**
 * An approval is spent only by a call that goes upstream. The gate (3b) takes it before the limits
 * (3c), inject (4) and the decision event (6a) have had their say; when one of those refuses the call,
 * the approval is given back, so the agent's retry goes through once the cause is gone — here a task
 * suspended by its request limit, resumed by its user, and a hostile Connection header.
 */

const CONTRACT = '12345';
const CANCEL = `/procurement/contracts/${CONTRACT}/cancel`;
const TXN = 'task-approval-ordering';
const BODY = '{"reason":"vendor X went bankrupt"}';

describe('an approval survives a refusal after the approval gate', () => {
  let tx: TokenStack;

  before(async () => {
    tx = await startTokenStack({
      editConfig(config) {
        const cancel = config.routes.find((r: { action: string }) => r.action === 'procurement.contract.cancel');
        cancel.tier = 'approval';
        cancel.body = { max_bytes: 4096, fields: [] };
        config.approvals = { expires_seconds: 900 };
        // A day-long window, so no boundary falls inside the test: three calls per task.
        config.limits = { window_seconds: 86_400, task: { requests: 3 } };
      },
    });
  });
  after(() => tx?.stop());

  const agentToken = () =>
    tx.stack.alice({
      txn: TXN,
      authorizationDetails: [{ type: 'procurement_contract', actions: ['cancel', 'read'], identifier: CONTRACT }],
    });

  async function cancel(approvalId?: string): Promise<{ status: number; code: string | undefined }> {
    const res = await fetch(`${tx.stack.url}${CANCEL}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await agentToken()}`,
        'content-type': 'application/json',
        ...(approvalId ? { 'x-mandate-approval': approvalId } : {}),
      },
      body: BODY,
    });
    const body = (await res.json()) as { code?: string; approval_id?: string };
    return { status: res.status, code: body.code ?? body.approval_id };
  }

  async function asAlice(path: string, method = 'GET') {
    const res = await fetch(`${tx.stack.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${await tx.idp.approverToken('alice')}` },
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers, asserted field by field
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  const stored = async (id: string) => (await asAlice(`/_mandate/approvals/${id}`)).body.approval;
  const forwarded = () => tx.stack.procurement.received.filter((r) => r.url === `/contracts/${CONTRACT}/cancel`);

  test('a limit crossed by the retry, then a hostile header: given back both times, then used once', async () => {
    const heldCall = await fetch(`${tx.stack.url}${CANCEL}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await agentToken()}`, 'content-type': 'application/json' },
      body: BODY,
    });
    assert.equal(heldCall.status, 403);
    const id = ((await heldCall.json()) as { approval_id: string }).approval_id;
    assert.equal((await asAlice(`/_mandate/approvals/${id}/approve`, 'POST')).status, 200);

    // The task spends its three calls on reads; the approved retry is the fourth.
    for (let i = 0; i < 3; i++) {
      const read = await fetch(`${tx.stack.url}/procurement/contracts/${CONTRACT}`, {
        headers: { authorization: `Bearer ${await agentToken()}` },
      });
      assert.equal(read.status, 200);
    }
    assert.deepEqual(await cancel(id), { status: 429, code: 'MANDATE_LIMIT_EXCEEDED' });
    assert.equal(forwarded().length, 0);
    const afterLimit = await stored(id);
    assert.deepEqual([afterLimit.status, afterLimit.used_at], ['approved', null], 'the approval was given back');
    // Suspended: refused before the gate, the approval untouched.
    assert.deepEqual(await cancel(id), { status: 403, code: 'MANDATE_TASK_SUSPENDED' });

    assert.equal((await asAlice(`/_mandate/tasks/${TXN}/resume`, 'POST')).status, 200);

    // Refused at inject (a Connection header naming a gateway header): given back again.
    const raw = await tx.stack.rawRequest(
      [
        `POST ${CANCEL} HTTP/1.1`,
        'Host: g',
        `Authorization: Bearer ${await agentToken()}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(BODY)}`,
        `X-Mandate-Approval: ${id}`,
        'Connection: close, x-mandate-user',
        '',
        BODY,
      ].join('\r\n'),
    );
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /MANDATE_REQUEST_HEADER_SPOOFED/);
    assert.equal((await stored(id)).status, 'approved');

    assert.deepEqual(await cancel(id), { status: 200, code: undefined });
    assert.equal(forwarded().length, 1, 'forwarded exactly once');
    assert.equal((await stored(id)).status, 'used');
    assert.deepEqual(await cancel(id), { status: 403, code: 'MANDATE_APPROVAL_USED' });
    assert.equal(forwarded().length, 1);

    // In the chain: one approval_used, right before the decision of the one call that went upstream.
    const rows = (await tx.stack.auditRows()).filter((r) => r.path === CANCEL);
    assert.deepEqual(
      rows.map((r) => [r.kind, r.reason, r.status]),
      [
        ['approval_requested', null, 403],
        ['denial', 'approval.required', 403],
        ['task_suspended', null, 429],
        ['denial', 'limits.exceeded', 429],
        ['denial', 'limits.task_suspended', 403],
        ['denial', 'request.header_spoofed', 400],
        ['approval_used', null, null],
        ['decision', null, null],
        ['outcome', null, 200],
        ['denial', 'approval.used', 403],
      ],
    );
  });
});
