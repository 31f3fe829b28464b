import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { decodeJwt, SignJWT } from 'jose';
import { ResponseBodyError } from 'openid-client';
import {
  ACCESS_TOKEN_TYPE,
  type Agent,
  actorToken,
  ID_TOKEN_TYPE,
  IDP_AUDIENCE,
  JWT_TYPE,
  MANDATE_ISSUER,
  PROCUREMENT_AUD,
  startTokenStack,
  TOKEN_EXCHANGE,
  type TokenStack,
} from './token-exchange-harness.ts';

/**
 * The issue's hostile cases, one by one: each is refused with its RFC 6749 / 8693 error, leaves one
 * `token_refused` audit event naming the reason, and issues no token (no token in the answer, no
 * `token_issued` event, no jti or token hash in the refusal's row).
 */

const OPS_KEY = randomBytes(32).toString('base64url');
const CANCEL_12345 = [{ type: 'procurement_contract', actions: ['cancel'], identifier: '12345' }];
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Expected {
  readonly error: string;
  /** The audit row's `reason`. */
  readonly reason: string;
  readonly status?: number;
  /** A reason the exchange policy must have given (`policy_reasons`). */
  readonly policyReason?: string;
}

/** Shared by both stacks: exchanges as an agent would, and checks refusals as the issue asks. */
function hostileKit(get: () => TokenStack) {
  const tokenIssuedCount = async () => (await get().stack.auditRows()).filter((r) => r.kind === 'token_issued').length;

  const exchange = async (agent: Agent, params: Record<string, string>) =>
    get().grant(agent, TOKEN_EXCHANGE, {
      subject_token_type: ACCESS_TOKEN_TYPE,
      actor_token: await actorToken(agent),
      actor_token_type: JWT_TYPE,
      ...params,
    });

  /** alice (or another user) → agent, for contract 12345, through openid-client. */
  const delegate = async (agent: Agent, params: Record<string, string> = {}, user = 'alice') =>
    exchange(agent, {
      subject_token: await get().idp.accessToken(user),
      resource: PROCUREMENT_AUD,
      scope: 'procurement:read procurement:write',
      authorization_details: JSON.stringify(CANCEL_12345),
      intent: 'cancel my contractor agreement with vendor X',
      ...params,
    });

  /** The newest audit row is this refusal's (the endpoint answers after its event is committed). */
  async function assertAuditedRefusal(expected: Expected, issuedBefore: number): Promise<void> {
    const rows = await get().stack.auditRows();
    const row = rows.at(-1)!;
    assert.equal(row.kind, 'token_refused');
    assert.equal(row.reason, expected.reason);
    assert.equal(row.decision, 'deny');
    assert.equal(row.status, expected.status ?? 400);
    assert.equal(row.jti, null, 'no token id');
    assert.equal(row.token_hash, null, 'no token hash');
    const detail = JSON.parse(row.detail as string) as Record<string, unknown>;
    assert.equal(detail.error, expected.error);
    assert.equal(detail.granted_scope, null);
    if (expected.policyReason !== undefined) {
      assert.ok(
        (JSON.parse(row.policy_reasons as string) as string[]).includes(expected.policyReason),
        String(row.policy_reasons),
      );
    }
    assert.equal(rows.filter((r) => r.kind === 'token_issued').length, issuedBefore, 'no token_issued event');
  }

  /** A grant made with openid-client is refused as expected. */
  async function refused(attempt: () => Promise<unknown>, expected: Expected): Promise<void> {
    const issuedBefore = await tokenIssuedCount();
    const error = await attempt().then(
      () => assert.fail(`a token was issued (expected ${expected.reason})`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ResponseBodyError, String(error));
    assert.equal(error.error, expected.error, expected.reason);
    assert.equal(error.status, expected.status ?? 400);
    assert.equal((error.cause as Record<string, unknown>).access_token, undefined);
    await assertAuditedRefusal(expected, issuedBefore);
  }

  /** A raw POST (what a conforming client library would not send) is refused as expected. */
  async function refusedRaw(body: string, expected: Expected): Promise<void> {
    const issuedBefore = await tokenIssuedCount();
    const res = await get().post(body);
    const answer = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, expected.status ?? 400);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(answer.error, expected.error);
    assert.equal(answer.access_token, undefined);
    await assertAuditedRefusal(expected, issuedBefore);
  }

  return { tokenIssuedCount, exchange, delegate, refused, refusedRaw };
}

describe('token exchange, hostile cases: the RFC error, a token_refused event with the reason, no token', () => {
  let tx: TokenStack;
  before(async () => {
    tx = await startTokenStack({
      env: { MANDATE_TEST_OPS_KEY: OPS_KEY },
      editConfig: (config) => {
        config.admin = { keys: [{ name: 'ops', secret: 'env:MANDATE_TEST_OPS_KEY', roles: ['admin'] }] };
      },
    });
  });
  after(() => tx.stop());
  const { exchange, delegate, refused, refusedRaw, tokenIssuedCount } = hostileKit(() => tx);

  const revoke = async (target: string, value: string) => {
    const res = await fetch(`${tx.stack.url}/_mandate/admin/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPS_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target, value, reason: 'hostile-case test' }),
    });
    assert.equal(res.status, 201, await res.text());
  };
  /** Presents a delegation token again: by its own actor a renewal, by another a re-delegation. */
  const present = (agent: Agent, delegation: string, params: Record<string, string> = {}) =>
    exchange(agent, { subject_token: delegation, ...params });

  test('scope amplification: invalid_scope', async () => {
    await refused(() => delegate(tx.agents.hr, { scope: 'procurement:read crm:read' }), {
      error: 'invalid_scope',
      reason: 'policy.denied',
      policyReason: 'scope.not_entitled:crm:read',
    });
  });

  test('authorization_details amplification: invalid_authorization_details', async () => {
    const wider = JSON.stringify([{ type: 'procurement_contract', actions: ['delete'], identifier: '12345' }]);
    await refused(() => delegate(tx.agents.hr, { authorization_details: wider }), {
      error: 'invalid_authorization_details',
      reason: 'policy.denied',
      policyReason: 'details.not_entitled:procurement_contract',
    });
  });

  test("actor swap: another agent's actor token is invalid_request", async () => {
    const otherActor = await actorToken(tx.agents.other);
    await refused(() => delegate(tx.agents.hr, { actor_token: otherActor }), {
      error: 'invalid_request',
      reason: 'actor_token.not_client',
    });
  });

  test('may_act naming another agent: invalid_request', async () => {
    const subject = await tx.idp.accessToken('alice', { mayAct: { sub: 'other-agent', iss: MANDATE_ISSUER } });
    await refused(() => delegate(tx.agents.hr, { subject_token: subject }), {
      error: 'invalid_request',
      reason: 'policy.denied',
      policyReason: 'delegation.may_act_mismatch',
    });
  });

  test('subject tokens: for another audience, expired, an ID token where an access token is required', async () => {
    const shortLived = await tx.idp.accessToken('alice', { ttlSeconds: 1 });
    const otherAudience = await tx.idp.accessToken('alice', { audience: 'https://payroll.example' });
    await refused(() => delegate(tx.agents.hr, { subject_token: otherAudience }), {
      error: 'invalid_request',
      reason: 'subject_token.claim_invalid:aud',
    });
    // This IdP is configured for access tokens only (the default).
    const idToken = await tx.idp.idToken('alice');
    await refused(() => delegate(tx.agents.hr, { subject_token: idToken }), {
      error: 'invalid_request',
      reason: 'subject_token.type_mismatch',
    });
    await refused(() => delegate(tx.agents.hr, { subject_token: idToken, subject_token_type: ID_TOKEN_TYPE }), {
      error: 'invalid_request',
      reason: 'subject_token.type_not_allowed',
    });
    await sleep(2100); // this stack has no clock leeway
    await refused(() => delegate(tx.agents.hr, { subject_token: shortLived }), {
      error: 'invalid_request',
      reason: 'subject_token.expired',
    });
  });

  test('an expired actor token: invalid_request', async () => {
    const expired = await actorToken(tx.agents.hr, { issuedAt: nowSeconds() - 300, expiresAt: nowSeconds() - 60 });
    await refused(() => delegate(tx.agents.hr, { actor_token: expired }), {
      error: 'invalid_request',
      reason: 'actor_token.expired',
    });
  });

  /** A private_key_jwt client assertion (RFC 7523 §2.2) of hr-agent, made by hand so it can be replayed. */
  const clientAssertion = (agent: Agent) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: agent.kid })
      .setIssuer(agent.id)
      .setSubject(agent.id)
      .setAudience(`${MANDATE_ISSUER}/oauth2/token`)
      .setIssuedAt()
      .setExpirationTime('60s')
      .setJti(crypto.randomUUID())
      .sign(agent.key);
  /** A complete, valid exchange request body: alice → hr-agent, read contracts. */
  const rawExchange = async (assertion: string) =>
    new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      client_id: tx.agents.hr.id,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
      subject_token: await tx.idp.accessToken('alice'),
      subject_token_type: ACCESS_TOKEN_TYPE,
      actor_token: await actorToken(tx.agents.hr),
      actor_token_type: JWT_TYPE,
      resource: PROCUREMENT_AUD,
      scope: 'procurement:read',
    }).toString();

  test('a replayed client assertion (private_key_jwt jti reused): 401 invalid_client', async () => {
    const assertion = await clientAssertion(tx.agents.hr);
    const first = await tx.post(await rawExchange(assertion));
    assert.equal(first.status, 200, 'the assertion authenticates its first request');
    await refusedRaw(await rawExchange(assertion), {
      error: 'invalid_client',
      reason: 'client_assertion.replayed',
      status: 401,
    });
  });

  test('repeated form parameters: invalid_request', async () => {
    await refusedRaw(`grant_type=${encodeURIComponent(TOKEN_EXCHANGE)}&scope=a&scope=b`, {
      error: 'invalid_request',
      reason: 'request.repeated_parameter',
    });
  });

  test('a form over 64 KiB: invalid_request, answered before the rest is read (not a reset)', async () => {
    const padding = 'x'.repeat(70 * 1024);
    await refusedRaw(`grant_type=${encodeURIComponent(TOKEN_EXCHANGE)}&padding=${padding}`, {
      error: 'invalid_request',
      reason: 'request.too_large',
    });
  });

  test('a chain deeper than the maximum (2): invalid_request, never truncated', async () => {
    const first = await delegate(tx.agents.hr, { txn: 'task-hostile-deep' });
    const second = await present(tx.agents.sub, first.access_token, { scope: 'procurement:write' });
    await refused(() => present(tx.agents.deep, second.access_token, { scope: 'procurement:read' }), {
      error: 'invalid_request',
      reason: 'delegation.chain_too_deep',
    });
  });

  test('renewal that changes txn or intent, or widens scope or details: refused', async () => {
    const first = await delegate(tx.agents.hr, { txn: 'task-hostile-renew' });
    const narrowed = await present(tx.agents.hr, first.access_token, {
      scope: 'procurement:read',
      authorization_details: '[]',
    });
    await refused(() => present(tx.agents.hr, first.access_token, { txn: 'task-hostile-other' }), {
      error: 'invalid_request',
      reason: 'task.txn_changed',
    });
    await refused(() => present(tx.agents.hr, first.access_token, { intent: 'pay every invoice' }), {
      error: 'invalid_request',
      reason: 'task.intent_changed',
    });
    await refused(() => present(tx.agents.hr, narrowed.access_token, { scope: 'procurement:read procurement:write' }), {
      error: 'invalid_scope',
      reason: 'policy.denied',
      policyReason: 'scope.not_entitled:procurement:write',
    });
    await refused(
      () => present(tx.agents.hr, narrowed.access_token, { authorization_details: JSON.stringify(CANCEL_12345) }),
      { error: 'invalid_authorization_details', reason: 'policy.denied' },
    );
  });

  test('a revoked jti replayed as subject_token, for renewal or re-delegation: invalid_request', async () => {
    const first = await delegate(tx.agents.hr, { txn: 'task-hostile-jti' });
    assert.ok(await present(tx.agents.hr, first.access_token), 'renewable before the revocation');
    await revoke('jti', decodeJwt(first.access_token).jti!);
    const expected = { error: 'invalid_request', reason: 'subject_token.revoked' };
    await refused(() => present(tx.agents.hr, first.access_token), expected);
    await refused(() => present(tx.agents.sub, first.access_token, { scope: 'procurement:write' }), expected);
  });

  test('renewal after its task (txn) was revoked; a new delegation naming that task too', async () => {
    const first = await delegate(tx.agents.hr, { txn: 'task-hostile-txn' });
    await revoke('txn', 'task-hostile-txn');
    const expected = { error: 'invalid_request', reason: 'subject_token.revoked' };
    await refused(() => present(tx.agents.hr, first.access_token), expected);
    await refused(() => delegate(tx.agents.hr, { txn: 'task-hostile-txn' }), expected);
  });

  test("another user's task id: refused, so no other user's agent can spend, suspend or own alice's task", async () => {
    await delegate(tx.agents.hr, { txn: 'task-hostile-owned' });
    await refused(() => delegate(tx.agents.hr, { txn: 'task-hostile-owned' }, 'carol'), {
      error: 'invalid_request',
      reason: 'txn.other_users_task',
    });
    // Her own agent may start more calls on her task; carol's own task ids are hers.
    await delegate(tx.agents.hr, { txn: 'task-hostile-owned' });
    await delegate(tx.agents.hr, { txn: 'task-hostile-carols' }, 'carol');
  });

  test("renewal after the user signed out; the user's earlier IdP token too", async () => {
    const idpToken = await tx.idp.accessToken('carol');
    const first = await delegate(tx.agents.hr, { subject_token: idpToken, txn: 'task-hostile-carol' }, 'carol');
    await revoke('user', 'carol');
    const expected = { error: 'invalid_request', reason: 'subject_token.revoked' };
    await refused(() => present(tx.agents.hr, first.access_token), expected);
    await refused(() => delegate(tx.agents.hr, { subject_token: idpToken }), expected);
  });

  test('renewal after an agent on the chain was revoked; agents off the chain unaffected', async () => {
    const first = await delegate(tx.agents.hr, { txn: 'task-hostile-agent' });
    const second = await present(tx.agents.sub, first.access_token, { scope: 'procurement:write' });
    await revoke('agent', 'sub-agent');
    await refused(() => present(tx.agents.sub, second.access_token), {
      error: 'invalid_request',
      reason: 'subject_token.revoked',
    });
    assert.ok(await present(tx.agents.hr, first.access_token), 'hr-agent is not revoked');
  });

  test('audit store unwritable: 503 temporarily_unavailable, and no token leaves the gateway', async () => {
    const issuedBefore = await tokenIssuedCount();
    const rowsBefore = (await tx.stack.auditRows()).length;
    const body = await rawExchange(await clientAssertion(tx.agents.hr));
    const lock = new Database(tx.stack.auditDb);
    lock.exec('BEGIN EXCLUSIVE');
    let res: Response;
    try {
      res = await tx.post(body);
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
    const answer = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(answer.error, 'temporarily_unavailable');
    assert.equal(answer.access_token, undefined, 'no token without its committed event');
    const rows = await tx.stack.auditRows();
    assert.equal(rows.filter((r) => r.kind === 'token_issued').length, issuedBefore);
    assert.equal(rows.length, rowsBefore, 'nothing was recorded: the store refused every write');
    // And the endpoint recovers without a restart.
    assert.ok((await delegate(tx.agents.hr)).access_token);
  });
});

describe('token exchange, hostile cases needing another configuration', () => {
  let tx: TokenStack;
  before(async () => {
    tx = await startTokenStack({
      editConfig: (config) => {
        // This IdP's ID tokens are accepted too (their aud is the portal's client id).
        config.identity_providers[0].token_types = ['access_token', 'id_token'];
        config.identity_providers[0].audiences = [IDP_AUDIENCE, 'corp-portal'];
        // A task may last 2 s; the 5 s leeway keeps its last token verifiable past that.
        config.token_service.max_task_lifetime_seconds = 2;
        config.gateway.tokens.clock_skew_seconds = 5;
      },
    });
  });
  after(() => tx.stop());
  const { delegate, refused } = hostileKit(() => tx);

  test('ID tokens allowed: an ID token declared as one is exchanged; each declared as the other is refused', async () => {
    const idToken = await tx.idp.idToken('alice');
    const issued = await delegate(tx.agents.hr, {
      subject_token: idToken,
      subject_token_type: ID_TOKEN_TYPE,
      scope: 'procurement:read',
      authorization_details: '[]',
    });
    assert.equal(decodeJwt(issued.access_token).sub, 'alice');
    await refused(() => delegate(tx.agents.hr, { subject_token: idToken }), {
      error: 'invalid_request',
      reason: 'subject_token.type_mismatch',
    });
    const accessToken = await tx.idp.accessToken('alice');
    await refused(() => delegate(tx.agents.hr, { subject_token: accessToken, subject_token_type: ID_TOKEN_TYPE }), {
      error: 'invalid_request',
      reason: 'subject_token.type_mismatch',
    });
  });

  test("renewal past the task's maximum lifetime: invalid_request", async () => {
    const first = await delegate(tx.agents.hr, { txn: 'task-hostile-long' });
    const claims = decodeJwt(first.access_token);
    assert.ok(claims.exp! <= (claims.task_started_at as number) + 2, 'capped by the task');
    await sleep(((claims.task_started_at as number) + 2) * 1000 - Date.now() + 100);
    await refused(
      async () =>
        tx.grant(tx.agents.hr, TOKEN_EXCHANGE, {
          subject_token: first.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          actor_token: await actorToken(tx.agents.hr),
          actor_token_type: JWT_TYPE,
        }),
      { error: 'invalid_request', reason: 'task.lifetime_exceeded' },
    );
  });
});
