import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startTokenStack, type TokenStack } from './token-exchange-harness.ts';

/**
 * Staged authorization end to end: a real gateway process, the demo procurement backend, and a real
 * OpenID Provider (node-oidc-provider) whose access tokens are the users' own. Contract cancellation
 * is made tier `approval` with a read body, so each call waits for its user, bound to its exact bytes.
 */

const CANCEL = (id: string) => `/procurement/contracts/${id}/cancel`;
const intentFor = (id: string) => [{ type: 'procurement_contract', actions: ['cancel'], identifier: id }];

function approvalConfig(expiresSeconds: number) {
  // biome-ignore lint/suspicious/noExplicitAny: routes.yaml as parsed YAML
  return (config: Record<string, any>) => {
    const cancel = config.routes.find((r: { action: string }) => r.action === 'procurement.contract.cancel');
    cancel.tier = 'approval';
    cancel.body = { max_bytes: 4096, fields: [] };
    config.approvals = { expires_seconds: expiresSeconds };
  };
}

describe('human approval', () => {
  let tx: TokenStack;

  before(async () => {
    tx = await startTokenStack({ editConfig: approvalConfig(900) });
  });
  after(() => tx?.stop());

  /** The agent's call: alice's delegation token (hr-agent), intent on `contract`, a JSON body. */
  async function agentCall(contract: string, body: string, approvalId?: string, user = 'alice') {
    const token = await tx.stack.alice({ user, authorizationDetails: intentFor(contract), txn: `task-${contract}` });
    return fetch(`${tx.stack.url}${CANCEL(contract)}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(approvalId ? { 'x-mandate-approval': approvalId } : {}),
      },
      body,
    });
  }

  /** The user's own call to the approval API, with her IdP access token. */
  async function userCall(token: string, path: string, method = 'GET') {
    const res = await fetch(`${tx.stack.url}/_mandate/approvals${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers, asserted field by field
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  async function held(contract: string, body: string): Promise<string> {
    const res = await agentCall(contract, body);
    const problem = (await res.json()) as Record<string, string>;
    assert.equal(res.status, 403);
    assert.equal(problem.code, 'MANDATE_APPROVAL_REQUIRED');
    return problem.approval_id!;
  }

  const forwarded = (contract: string) =>
    tx.stack.procurement.received.filter((r) => r.url === `/contracts/${contract}/cancel`);

  test('held, approved by the user with her IdP token, forwarded once with the exact body; then used', async () => {
    const body = '{"reason":"vendor X went bankrupt"}';
    const res = await agentCall('12345', body);
    assert.equal(res.status, 403);
    const problem = (await res.json()) as Record<string, string>;
    assert.equal(problem.code, 'MANDATE_APPROVAL_REQUIRED');
    assert.match(problem.approval_id!, /^apr_[A-Za-z0-9_-]{22}$/);
    assert.equal(problem.approval_url, `${tx.stack.url}/_mandate/approvals/`);
    assert.equal(problem.approval_api, `${tx.stack.url}/_mandate/approvals/${problem.approval_id}`);
    assert.equal(forwarded('12345').length, 0, 'nothing reaches the backend while held');

    const alice = await tx.idp.approverToken('alice');
    const list = await userCall(alice, '');
    assert.equal(list.status, 200);
    const shown = list.body.approvals.find((a: { id: string }) => a.id === problem.approval_id);
    assert.deepEqual(
      [shown.status, shown.action, shown.resource, shown.method, shown.path, shown.body, shown.agent_chain],
      [
        'pending',
        'procurement.contract.cancel',
        { type: 'contract', id: '12345' },
        'POST',
        CANCEL('12345'),
        body,
        [{ sub: 'hr-agent', iss: null }],
      ],
    );
    const retryTooEarly = await agentCall('12345', body, problem.approval_id);
    assert.equal(((await retryTooEarly.json()) as { code: string }).code, 'MANDATE_APPROVAL_PENDING');

    const approved = await userCall(alice, `/${problem.approval_id}/approve`, 'POST');
    assert.equal(approved.status, 200);
    assert.equal(approved.body.approval.status, 'approved');
    assert.equal(approved.body.approval.decided_by, 'alice');

    const retry = await agentCall('12345', body, problem.approval_id);
    assert.equal(retry.status, 200);
    await retry.arrayBuffer();
    const [received] = forwarded('12345');
    assert.equal(forwarded('12345').length, 1);
    assert.equal(received!.bodySha256, createHash('sha256').update(body).digest('hex'));
    assert.equal(received!.headers['x-mandate-approval'], undefined, 'the approval id is not forwarded');

    const again = await agentCall('12345', body, problem.approval_id);
    assert.equal(again.status, 403);
    assert.equal(((await again.json()) as { code: string }).code, 'MANDATE_APPROVAL_USED');
    assert.equal(forwarded('12345').length, 1);

    const rows = (await tx.stack.auditRows()).filter((r) => r.path === CANCEL('12345'));
    assert.deepEqual(
      rows.map((r) => [r.kind, r.reason, r.status]),
      [
        ['approval_requested', null, 403],
        ['denial', 'approval.required', 403],
        ['denial', 'approval.pending', 403],
        ['approval_used', null, null],
        ['decision', null, null],
        ['outcome', null, 200],
        ['denial', 'approval.used', 403],
      ],
    );
    const granted = (await tx.stack.auditRows()).filter((r) => r.kind === 'approval_granted');
    assert.equal(granted.length, 1);
    assert.equal(granted[0]!.user, 'alice');
    assert.equal(JSON.parse(String(granted[0]!.detail)).approval_id, problem.approval_id);
    assert.equal(JSON.parse(String(granted[0]!.detail)).decided_by, 'alice');
  });

  test('two retries racing with one approval id: exactly one is forwarded', async () => {
    const body = '{"reason":"race"}';
    const id = await held('12346', body);
    assert.equal((await userCall(await tx.idp.approverToken('alice'), `/${id}/approve`, 'POST')).status, 200);
    const results = await Promise.all([agentCall('12346', body, id), agentCall('12346', body, id)]);
    const codes = await Promise.all(
      results.map(async (r) => {
        if (r.status !== 200) return ((await r.json()) as { code: string }).code;
        await r.arrayBuffer();
        return 200;
      }),
    );
    assert.deepEqual(codes.sort(), [200, 'MANDATE_APPROVAL_USED'].sort());
    assert.equal(forwarded('12346').length, 1);
    const used = (await tx.stack.auditRows()).filter((r) => r.kind === 'approval_used' && r.path === CANCEL('12346'));
    assert.equal(used.length, 1);
  });

  test('an approval replayed with a different body (or path) is refused and stays unused', async () => {
    const body = '{"reason":"as approved"}';
    const id = await held('12347', body);
    assert.equal((await userCall(await tx.idp.approverToken('alice'), `/${id}/approve`, 'POST')).status, 200);
    for (const [contract, sent] of [
      ['12347', '{"reason":"as approved", "notify":"everyone"}'],
      ['12345', body],
    ] as const) {
      const replay = await agentCall(contract, sent, id);
      assert.equal(replay.status, 403);
      assert.equal(((await replay.json()) as { code: string }).code, 'MANDATE_APPROVAL_MISMATCH');
    }
    // The very same request, user and agent, but from another task: she approved it for task-12347.
    const otherTask = await tx.stack.alice({ authorizationDetails: intentFor('12347'), txn: 'task-other' });
    const fromOtherTask = await fetch(`${tx.stack.url}${CANCEL('12347')}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${otherTask}`,
        'content-type': 'application/json',
        'x-mandate-approval': id,
      },
      body,
    });
    assert.equal(((await fromOtherTask.json()) as { code: string }).code, 'MANDATE_APPROVAL_MISMATCH');
    assert.equal(forwarded('12347').length, 0);
    const stored = await userCall(await tx.idp.approverToken('alice'), `/${id}`);
    assert.equal(stored.body.approval.status, 'approved');
  });

  test("the agent's delegation token cannot see or approve; neither can another user", async () => {
    const id = await held('12345', '{"reason":"not yours"}');
    const delegation = await tx.stack.alice();
    for (const [path, method] of [
      ['', 'GET'],
      [`/${id}/approve`, 'POST'],
    ] as const) {
      const refused = await userCall(delegation, path, method);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'MANDATE_APPROVER_IS_AGENT');
    }
    // Nor the token her agent holds for the exchange: signed by her IdP, no `act`, but for the exchange
    // audience. Accepted here, it would let the agent approve its own call.
    const exchangeToken = await tx.idp.accessToken('alice');
    for (const [path, method] of [
      ['', 'GET'],
      [`/${id}/approve`, 'POST'],
    ] as const) {
      const refused = await userCall(exchangeToken, path, method);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.code, 'MANDATE_APPROVER_UNAUTHENTICATED');
    }
    const bob = await tx.idp.approverToken('bob');
    assert.deepEqual((await userCall(bob, '')).body, { approvals: [] });
    for (const [path, method] of [
      [`/${id}`, 'GET'],
      [`/${id}/approve`, 'POST'],
      [`/${id}/reject`, 'POST'],
    ] as const) {
      const refused = await userCall(bob, path, method);
      assert.equal(refused.status, 404);
      assert.equal(refused.body.code, 'MANDATE_APPROVAL_NOT_FOUND');
    }
    const stored = await userCall(await tx.idp.approverToken('alice'), `/${id}`);
    assert.equal(stored.body.approval.status, 'pending');
    const refusals = (await tx.stack.auditRows()).filter(
      (r) => String(r.path).startsWith('/_mandate/approvals') && r.kind === 'denial',
    );
    assert.ok(refusals.filter((r) => r.reason === 'approval.approver_is_agent').length >= 2);
    assert.ok(refusals.filter((r) => r.reason === 'approval.not_found').length >= 3);
  });

  test('rejected: the retry is refused, the decision cannot be changed', async () => {
    const body = '{"reason":"reject me"}';
    const id = await held('12346', body);
    const alice = await tx.idp.approverToken('alice');
    assert.equal((await userCall(alice, `/${id}/reject`, 'POST')).status, 200);
    const retry = await agentCall('12346', body, id);
    assert.equal(((await retry.json()) as { code: string }).code, 'MANDATE_APPROVAL_REJECTED');
    const late = await userCall(alice, `/${id}/approve`, 'POST');
    assert.equal(late.status, 409);
    assert.equal(late.body.code, 'MANDATE_APPROVAL_ALREADY_DECIDED');
    const rejected = (await tx.stack.auditRows()).filter((r) => r.kind === 'approval_rejected');
    assert.equal(JSON.parse(String(rejected.at(-1)!.detail)).approval_id, id);
  });

  test('an unknown approval id is refused; a call outside tier approval ignores the header', async () => {
    const unknown = await agentCall('12345', '{}', 'apr_AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(((await unknown.json()) as { code: string }).code, 'MANDATE_APPROVAL_NOT_FOUND');
    const token = await tx.stack.alice();
    const read = await fetch(`${tx.stack.url}/procurement/contracts/12345`, {
      headers: { authorization: `Bearer ${token}`, 'x-mandate-approval': 'apr_AAAAAAAAAAAAAAAAAAAAAA' },
    });
    assert.equal(read.status, 200);
    await read.arrayBuffer();
  });
});

describe('approval expiry', () => {
  let tx: TokenStack;
  before(async () => {
    tx = await startTokenStack({ editConfig: approvalConfig(1) });
  });
  after(() => tx?.stop());

  test('an approval not decided in time cannot be approved, nor an approved one used late', async () => {
    const token = await tx.stack.alice({ authorizationDetails: intentFor('12345') });
    const call = (approvalId?: string) =>
      fetch(`${tx.stack.url}${CANCEL('12345')}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(approvalId ? { 'x-mandate-approval': approvalId } : {}),
        },
        body: '{}',
      });
    const approve = async (id: string) =>
      fetch(`${tx.stack.url}/_mandate/approvals/${id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await tx.idp.approverToken('alice')}` },
      });
    const first = ((await (await call()).json()) as { approval_id: string }).approval_id;
    const second = ((await (await call()).json()) as { approval_id: string }).approval_id;
    assert.equal((await approve(second)).status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    const late = await approve(first);
    assert.equal(late.status, 403);
    assert.equal(((await late.json()) as { code: string }).code, 'MANDATE_APPROVAL_EXPIRED');
    const retry = await call(second);
    assert.equal(((await retry.json()) as { code: string }).code, 'MANDATE_APPROVAL_EXPIRED');
    assert.equal(tx.stack.procurement.received.length, 0);
  });
});

describe('approval of a route that streams its body unread', () => {
  let tx: TokenStack;
  before(async () => {
    tx = await startTokenStack({
      // biome-ignore lint/suspicious/noExplicitAny: routes.yaml as parsed YAML
      editConfig: (config: Record<string, any>) => {
        const read = config.routes.find((r: { action: string }) => r.action === 'procurement.contract.read');
        read.tier = 'approval';
        config.approvals = { expires_seconds: 900 };
      },
    });
  });
  after(() => tx?.stop());

  /** A GET through the gateway, with a body when given (fetch cannot send one). */
  function get(token: string, approvalId: string, body?: string): Promise<{ status: number; code?: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${tx.stack.url}/procurement/contracts/12345`,
        {
          method: 'GET',
          headers: {
            authorization: `Bearer ${token}`,
            ...(approvalId ? { 'x-mandate-approval': approvalId } : {}),
            ...(body === undefined ? {} : { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const code = res.statusCode === 200 ? undefined : (JSON.parse(text) as { code?: string }).code;
            resolve({ status: res.statusCode ?? 0, ...(code === undefined ? {} : { code }) });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  test('an approval given for the call without a body does not let a retry carry one upstream', async () => {
    const token = await tx.stack.alice();
    const heldCall = await fetch(`${tx.stack.url}/procurement/contracts/12345`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const { code, approval_id: id } = (await heldCall.json()) as { code: string; approval_id: string };
    assert.equal(code, 'MANDATE_APPROVAL_REQUIRED');
    const approve = await fetch(`${tx.stack.url}/_mandate/approvals/${id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await tx.idp.approverToken('alice')}` },
    });
    assert.equal(approve.status, 200);
    await approve.arrayBuffer();

    const smuggled = await get(token, id, 'a body nobody approved');
    assert.deepEqual(smuggled, { status: 403, code: 'MANDATE_APPROVAL_UNAVAILABLE' });
    assert.equal(tx.stack.procurement.received.length, 0, 'nothing unapproved reaches the backend');

    // The approval is still there for the very call approved.
    assert.deepEqual(await get(token, id), { status: 200 });
    const received = tx.stack.procurement.received;
    assert.equal(received.length, 1);
    assert.equal(received[0]!.bodyBytes, 0);
  });
});

describe('approval backlog', () => {
  let tx: TokenStack;
  before(async () => {
    tx = await startTokenStack({
      // biome-ignore lint/suspicious/noExplicitAny: routes.yaml as parsed YAML
      editConfig: (config: Record<string, any>) => {
        approvalConfig(900)(config);
        config.approvals.max_pending_per_user = 2;
      },
    });
  });
  after(() => tx?.stop());

  test('past max_pending_per_user, a held call is refused (429), audited, and not stored', async () => {
    const token = await tx.stack.alice({ authorizationDetails: intentFor('12345') });
    const call = () =>
      fetch(`${tx.stack.url}${CANCEL('12345')}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
    const codes = [];
    for (let i = 0; i < 3; i++) {
      const res = await call();
      codes.push([res.status, ((await res.json()) as { code: string }).code]);
    }
    assert.deepEqual(codes, [
      [403, 'MANDATE_APPROVAL_REQUIRED'],
      [403, 'MANDATE_APPROVAL_REQUIRED'],
      [429, 'MANDATE_APPROVAL_BACKLOG'],
    ]);
    const pending = await fetch(`${tx.stack.url}/_mandate/approvals`, {
      headers: { authorization: `Bearer ${await tx.idp.approverToken('alice')}` },
    });
    assert.equal(((await pending.json()) as { approvals: unknown[] }).approvals.length, 2);
    const rows = await tx.stack.auditRows();
    assert.equal(rows.filter((r) => r.kind === 'approval_requested').length, 2);
    assert.equal(rows.filter((r) => r.reason === 'approval.backlog').length, 1);
    assert.equal(tx.stack.procurement.received.length, 0);
  });
});
