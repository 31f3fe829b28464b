import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ResponseBodyError } from 'openid-client';
import {
  ACCESS_TOKEN_TYPE,
  type Agent,
  actorToken,
  CRM_AUD,
  ID_TOKEN_TYPE,
  JWT_TYPE,
  MANDATE_ISSUER,
  PROCUREMENT_AUD,
  startTokenStack,
  TOKEN_EXCHANGE,
  type TokenStack,
} from './token-exchange-harness.ts';

const CANCEL_12345 = [{ type: 'procurement_contract', actions: ['cancel'], identifier: '12345' }];

describe('token exchange: a real IdP token and an agent key in, a delegation token out', () => {
  let tx: TokenStack;
  before(async () => {
    tx = await startTokenStack();
  });
  after(() => tx.stop());

  const delegate = (agent: Agent, params: Record<string, string> = {}, user = 'alice') =>
    tx.delegate(
      agent,
      {
        resource: PROCUREMENT_AUD,
        scope: 'procurement:read procurement:write',
        authorization_details: JSON.stringify(CANCEL_12345),
        intent: 'cancel my contractor agreement with vendor X',
        ...params,
      },
      user,
    );

  /** The RFC 6749 §5.2 error of a refused grant, through openid-client. */
  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => assert.fail('a token was issued'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ResponseBodyError, String(error));
    return { error: error.error, status: error.status, description: error.error_description };
  };

  test('alice → hr-agent: an act-chained, audience-bound token that the proxy accepts end to end', async () => {
    const res = await delegate(tx.agents.hr, { txn: 'task-e2e-1' });
    assert.equal(res.token_type.toLowerCase(), 'bearer');
    assert.equal(res.issued_token_type, ACCESS_TOKEN_TYPE);
    assert.ok(res.expires_in! > 0 && res.expires_in! <= 300);
    const header = decodeProtectedHeader(res.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    assert.ok(header.kid);
    const claims = decodeJwt(res.access_token);
    assert.equal(claims.iss, MANDATE_ISSUER);
    assert.equal(claims.sub, 'alice');
    assert.deepEqual(claims.act, { sub: 'hr-agent', iss: MANDATE_ISSUER });
    assert.equal(claims.aud, PROCUREMENT_AUD);
    assert.equal(claims.scope, 'procurement:read procurement:write');
    assert.deepEqual(claims.authorization_details, CANCEL_12345);
    assert.equal(claims.txn, 'task-e2e-1');
    assert.equal(claims.client_id, 'hr-agent');
    assert.deepEqual(claims.roles, ['procurement']);
    assert.ok(claims.exp! - claims.iat! <= 300);

    const cancel = await fetch(`${tx.stack.url}/procurement/contracts/12345/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${res.access_token}` },
    });
    assert.equal(cancel.status, 200);
    const drift = await fetch(`${tx.stack.url}/procurement/contracts/12346/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${res.access_token}` },
    });
    assert.equal(drift.status, 403);

    const rows = await tx.stack.auditRows();
    const issued = rows.find((r) => r.kind === 'token_issued' && r.txn === 'task-e2e-1')!;
    assert.equal(issued.user, 'alice');
    assert.equal(issued.agent, 'hr-agent');
    assert.equal(issued.jti, claims.jti);
    assert.equal(issued.decision, 'allow');
    const detail = JSON.parse(issued.detail as string);
    assert.deepEqual(detail.granted_scope, ['procurement:read', 'procurement:write']);
    assert.equal(detail.subject_token_type, ACCESS_TOKEN_TYPE);
    assert.ok(!JSON.stringify(issued).includes(res.access_token.split('.')[2]!), 'never the token');
    const call = rows.find((r) => r.kind === 'decision' && r.jti === claims.jti)!;
    assert.equal(call.user, 'alice');
  });

  test('narrowing: a scope the user has but the agent ceiling lacks is dropped, and scope is returned', async () => {
    const res = await delegate(tx.agents.other, {
      scope: 'procurement:read procurement:write',
      authorization_details: '[]',
    });
    assert.equal(res.scope, 'procurement:read');
    assert.equal(decodeJwt(res.access_token).scope, 'procurement:read');
  });

  test('amplification: a scope or detail the user does not have is refused, audited, no token', async () => {
    assert.deepEqual(await refusal(delegate(tx.agents.hr, { scope: 'procurement:read crm:read' })), {
      error: 'invalid_scope',
      status: 400,
      description: 'The requested scope exceeds what can be delegated',
    });
    const pause = JSON.stringify([{ type: 'procurement_contract', actions: ['pause'], identifier: '1' }]);
    assert.equal(
      (await refusal(delegate(tx.agents.hr, { authorization_details: pause }))).error,
      'invalid_authorization_details',
    );
    // bob (support) cannot hand procurement rights to anyone.
    assert.equal((await refusal(delegate(tx.agents.hr, {}, 'bob'))).error, 'invalid_scope');
    const rows = await tx.stack.auditRows();
    const refused = rows.filter((r) => r.kind === 'token_refused' && r.reason === 'policy.denied');
    assert.ok(refused.length >= 3);
    assert.ok(refused.some((r) => JSON.parse(r.policy_reasons as string).includes('scope.not_entitled:crm:read')));
    assert.ok(refused.every((r) => r.jti === null && r.token_hash === null));
  });

  test('targets: an unknown backend, two backends, or a backend outside the ceiling is invalid_target', async () => {
    assert.equal(
      (await refusal(delegate(tx.agents.hr, { resource: 'https://elsewhere.example' }))).error,
      'invalid_target',
    );
    assert.equal(
      (await refusal(delegate(tx.agents.hr, { resource: PROCUREMENT_AUD, audience: CRM_AUD }))).error,
      'invalid_target',
    );
    assert.equal(
      (await refusal(delegate(tx.agents.hr, { resource: CRM_AUD, scope: 'crm:read', authorization_details: '[]' })))
        .error,
      'invalid_target',
    );
  });

  test('subject tokens: forged, expired, for another audience or of the wrong declared type → invalid_request', async () => {
    const good = await tx.idp.accessToken('alice');
    const [h, , signature] = good.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(good), sub: 'ceo' })).toString('base64url')}.${signature}`;
    const cases: Record<string, string>[] = [
      { subject_token: forged },
      { subject_token: await tx.idp.accessToken('alice', { ttlSeconds: 1 }) },
      { subject_token: await tx.idp.idToken('alice'), subject_token_type: ID_TOKEN_TYPE },
      { subject_token: await tx.idp.idToken('alice') },
      { subject_token: good, subject_token_type: ID_TOKEN_TYPE },
      { subject_token: good, subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
    ];
    await new Promise((r) => setTimeout(r, 2100)); // the 1-second token has expired (this stack: no leeway)
    const bodies = new Set<string>();
    for (const params of cases) {
      const r = await refusal(delegate(tx.agents.hr, params));
      assert.equal(r.error, 'invalid_request', JSON.stringify(Object.keys(params)));
      bodies.add(JSON.stringify(r));
    }
    const reasons = (await tx.stack.auditRows()).filter((r) => r.kind === 'token_refused').map((r) => r.reason);
    for (const reason of [
      'subject_token.signature_invalid',
      'subject_token.expired',
      'subject_token.type_not_allowed',
      'subject_token.type_mismatch',
      'subject_token.type_unsupported',
    ]) {
      assert.ok(reasons.includes(reason), reason);
    }
    // GW-TX-10: the same body whatever was wrong with the token, and the same as a policy refusal.
    const mayAct = await refusal(
      delegate(tx.agents.hr, { subject_token: await tx.idp.accessToken('alice', { mayAct: { sub: 'other-agent' } }) }),
    );
    bodies.add(JSON.stringify(mayAct));
    assert.equal(bodies.size, 1);
  });

  test('may_act naming this agent is honoured', async () => {
    const res = await delegate(tx.agents.hr, {
      subject_token: await tx.idp.accessToken('alice', { mayAct: { sub: 'hr-agent', iss: MANDATE_ISSUER } }),
    });
    assert.equal(decodeJwt(res.access_token).sub, 'alice');
  });

  test('client authentication: none → 401 invalid_client; an actor token of another agent → invalid_request', async () => {
    const anonymous = await tx.post(
      new URLSearchParams({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await tx.idp.accessToken('alice'),
        subject_token_type: ACCESS_TOKEN_TYPE,
        resource: PROCUREMENT_AUD,
        scope: 'procurement:read',
      }).toString(),
    );
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('cache-control'), 'no-store');
    assert.equal(((await anonymous.json()) as { error: string }).error, 'invalid_client');
    const swapped = await refusal(delegate(tx.agents.hr, { actor_token: await actorToken(tx.agents.other) }));
    assert.equal(swapped.error, 'invalid_request');
    const rows = await tx.stack.auditRows();
    assert.ok(
      rows.some((r) => r.kind === 'token_refused' && r.reason === 'client.unauthenticated' && r.status === 401),
    );
    assert.ok(rows.some((r) => r.kind === 'token_refused' && r.reason === 'actor_token.not_client'));
  });

  test('repeated form parameters and unsupported grant types are refused', async () => {
    const repeated = await tx.post('grant_type=a&grant_type=b');
    assert.equal(((await repeated.json()) as { error: string }).error, 'invalid_request');
    const unsupported = await refusal(tx.grant(tx.agents.hr, 'password', { username: 'alice' }));
    assert.equal(unsupported.error, 'unsupported_grant_type');
  });

  test('re-delegation nests the chain, only narrows, and stops at the maximum depth', async () => {
    const first = await delegate(tx.agents.hr, { txn: 'task-redelegate' });
    const redelegate = async (agent: Agent, subject: string, params: Record<string, string> = {}) =>
      tx.grant(agent, TOKEN_EXCHANGE, {
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN_TYPE,
        actor_token: await actorToken(agent),
        actor_token_type: JWT_TYPE,
        ...params,
      });
    const second = await redelegate(tx.agents.sub, first.access_token, { scope: 'procurement:write' });
    const claims = decodeJwt(second.access_token);
    assert.deepEqual(claims.act, {
      sub: 'sub-agent',
      iss: MANDATE_ISSUER,
      act: { sub: 'hr-agent', iss: MANDATE_ISSUER },
    });
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.txn, 'task-redelegate');
    assert.equal(claims.aud, PROCUREMENT_AUD);
    assert.deepEqual(claims.authorization_details, CANCEL_12345);
    // The proxy accepts the nested token and its policy allows it (the backend answers 409: an earlier
    // test cancelled 12345 already).
    await fetch(`${tx.stack.url}/procurement/contracts/12345/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${second.access_token}` },
    });
    const allowed = (await tx.stack.auditRows()).find((r) => r.kind === 'decision' && r.jti === claims.jti)!;
    assert.equal(allowed.agent, 'sub-agent');
    assert.deepEqual(
      JSON.parse(allowed.actor_chain as string).map((a: { sub: string }) => a.sub),
      ['sub-agent', 'hr-agent'],
    );

    // Wider than what it carries: refused.
    const wider = JSON.stringify([{ type: 'procurement_contract', actions: ['cancel'], identifier: '99999' }]);
    const widened = await refusal(redelegate(tx.agents.sub, first.access_token, { authorization_details: wider }));
    assert.equal(widened.error, 'invalid_authorization_details');
    const scopeUp = await refusal(redelegate(tx.agents.sub, second.access_token, { scope: 'procurement:read' }));
    // sub-agent presenting its own token is a renewal: procurement:read was not in it.
    assert.equal(scopeUp.error, 'invalid_scope');
    // other-agent was never named by hr-agent's delegate_to.
    assert.equal((await refusal(redelegate(tx.agents.other, first.access_token))).error, 'invalid_request');
    // A third link exceeds max_chain_depth 2: refused, never truncated.
    const deep = await refusal(redelegate(tx.agents.deep, second.access_token, { scope: 'procurement:read' }));
    assert.equal(deep.error, 'invalid_request');
    const rows = await tx.stack.auditRows();
    assert.ok(rows.some((r) => r.kind === 'token_refused' && r.reason === 'delegation.chain_too_deep'));
    // A change of txn is refused.
    const otherTask = await refusal(redelegate(tx.agents.sub, first.access_token, { txn: 'task-other' }));
    assert.equal(otherTask.error, 'invalid_request');
  });

  test('renewal: same txn, same chain, task start carried forward, never wider', async () => {
    const first = await delegate(tx.agents.hr, { txn: 'task-renew' });
    const renew = async (subject: string, params: Record<string, string> = {}) =>
      tx.grant(tx.agents.hr, TOKEN_EXCHANGE, {
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN_TYPE,
        actor_token: await actorToken(tx.agents.hr),
        actor_token_type: JWT_TYPE,
        ...params,
      });
    const renewed = await renew(first.access_token);
    const a = decodeJwt(first.access_token);
    const b = decodeJwt(renewed.access_token);
    assert.equal(b.txn, 'task-renew');
    assert.deepEqual(b.act, a.act);
    assert.equal(b.task_started_at, a.task_started_at);
    assert.notEqual(b.jti, a.jti);
    assert.equal(b.scope, a.scope);
    const narrowed = await renew(renewed.access_token, { scope: 'procurement:read' });
    assert.equal(decodeJwt(narrowed.access_token).scope, 'procurement:read');
    assert.equal((await refusal(renew(narrowed.access_token, { scope: 'procurement:write' }))).error, 'invalid_scope');
    assert.equal((await refusal(renew(renewed.access_token, { txn: 'task-else' }))).error, 'invalid_request');
  });

  test('background agent: client_credentials gives a token with no user, shown as such', async () => {
    const res = await tx.grant(tx.agents.batch, 'client_credentials', { resource: CRM_AUD, scope: 'crm:read' });
    const claims = decodeJwt(res.access_token);
    assert.equal(claims.sub, 'batch-agent');
    assert.equal(claims.no_user, true);
    assert.deepEqual(claims.act, { sub: 'batch-agent', iss: MANDATE_ISSUER });
    // A user's agent may not obtain one.
    const refused = await refusal(
      tx.grant(tx.agents.other, 'client_credentials', { resource: CRM_AUD, scope: 'crm:read' }),
    );
    assert.equal(refused.error, 'invalid_request');
    // Through the proxy: no person, so the CRM policy (which needs a user's role) denies; the row has no user.
    const call = await fetch(`${tx.stack.url}/crm/regions/emea/customers/9821`, {
      headers: { authorization: `Bearer ${res.access_token}` },
    });
    assert.equal(call.status, 403);
    const rows = await tx.stack.auditRows();
    const issued = rows.find((r) => r.kind === 'token_issued' && r.jti === claims.jti)!;
    assert.equal(issued.user, null);
    assert.equal(issued.agent, 'batch-agent');
    const denial = rows.find((r) => r.kind === 'denial' && r.jti === claims.jti)!;
    assert.equal(denial.user, null);
    assert.equal(denial.agent, 'batch-agent');
  });

  test('discovery: RFC 8414 metadata and the JWKS that verifies issued tokens', async () => {
    const meta = (await (await fetch(`${tx.stack.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(meta.issuer, MANDATE_ISSUER);
    assert.equal(meta.token_endpoint, `${MANDATE_ISSUER}/oauth2/token`);
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['private_key_jwt']);
    assert.ok((meta.grant_types_supported as string[]).includes(TOKEN_EXCHANGE));
    const jwks = (await (await fetch(`${tx.stack.url}/.well-known/jwks.json`)).json()) as {
      keys: Record<string, unknown>[];
    };
    const res = await delegate(tx.agents.hr);
    const kid = decodeProtectedHeader(res.access_token).kid;
    const key = jwks.keys.find((k) => k.kid === kid)!;
    assert.equal(key.d, undefined, 'public keys only');
    const { jwtVerify, importJWK } = await import('jose');
    const { payload } = await jwtVerify(res.access_token, await importJWK(key as never, 'ES256'), {
      issuer: MANDATE_ISSUER,
    });
    assert.equal(payload.sub, 'alice');
  });
});
