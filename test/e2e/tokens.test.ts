import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { ISSUER, PROCUREMENT_AUD, type Stack, startStack } from './harness.ts';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** Every token refusal over real HTTP: 401 with its catalogue code, audited, never forwarded. */
describe('tokens: each invalid delegation token is refused with its catalogue code', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  const baseClaims = () => ({
    iss: ISSUER,
    sub: 'alice',
    aud: PROCUREMENT_AUD,
    act: { sub: 'hr-agent' },
    jti: randomBytes(8).toString('hex'),
    iat: now(),
    exp: now() + 300,
    scope: 'procurement:read',
    roles: ['procurement'],
  });

  const cases: [string, () => Promise<string>, string][] = [
    ['expired', () => stack.alice({ issuedAt: now() - 600, ttlSeconds: 300 }), 'MANDATE_AUTHN_TOKEN_EXPIRED'],
    ['wrong audience', () => stack.alice({ audience: 'https://elsewhere.example' }), 'MANDATE_AUTHN_AUDIENCE_MISMATCH'],
    ['unknown issuer', () => stack.alice({ issuer: 'https://evil.example' }), 'MANDATE_AUTHN_ISSUER_UNKNOWN'],
    ['missing act', () => stack.alice({ agents: [] }), 'MANDATE_AUTHN_CLAIM_INVALID'],
    ['not yet valid', () => stack.alice({ issuedAt: now() + 600 }), 'MANDATE_AUTHN_TOKEN_NOT_YET_VALID'],
    [
      'alg none',
      async () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(baseClaims())}.`,
      'MANDATE_AUTHN_TOKEN_MALFORMED',
    ],
    [
      'HS256 signed with the issuer public key',
      async () => {
        const jwks = (await (await fetch(stack.keyServerUrl)).json()) as { keys: Record<string, unknown>[] };
        const header = b64({ alg: 'HS256', typ: 'at+jwt', kid: jwks.keys[0]!.kid });
        const payload = b64(baseClaims());
        const sig = createHmac('sha256', JSON.stringify(jwks.keys[0]))
          .update(`${header}.${payload}`)
          .digest('base64url');
        return `${header}.${payload}.${sig}`;
      },
      'MANDATE_AUTHN_ALGORITHM_REJECTED',
    ],
    [
      'signed by a key the issuer does not have',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        const kid = await stack.keyServerKid();
        return new SignJWT(baseClaims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(privateKey);
      },
      'MANDATE_AUTHN_SIGNATURE_INVALID',
    ],
    [
      'tampered payload',
      async () => {
        const [h, , s] = (await stack.alice()).split('.');
        return `${h}.${b64({ ...baseClaims(), sub: 'ceo' })}.${s}`;
      },
      'MANDATE_AUTHN_SIGNATURE_INVALID',
    ],
    [
      'wrong typ (an ID token shape)',
      async () => {
        const [, p, s] = (await stack.alice()).split('.');
        return `${b64({ alg: 'ES256', typ: 'JWT' })}.${p}.${s}`;
      },
      'MANDATE_AUTHN_TOKEN_TYPE_INVALID',
    ],
    [
      'oversized',
      async () => `${'a'.repeat(9000)}.${'b'.repeat(10)}.${'c'.repeat(10)}`,
      'MANDATE_AUTHN_TOKEN_TOO_LARGE',
    ],
    ['garbage', async () => 'not-a-jwt', 'MANDATE_AUTHN_TOKEN_MALFORMED'],
  ];

  for (const [name, make, code] of cases) {
    test(`${name} → ${code}`, async () => {
      const before = stack.procurement.received.length;
      const res = await fetch(`${stack.url}/procurement/contracts/12345`, {
        headers: { authorization: `Bearer ${await make()}` },
      });
      const body = (await res.json()) as { code: string; correlation_id: string };
      assert.equal(body.code, code);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate')!, /^Bearer realm="mandate", error="invalid_token"$/);
      assert.equal(stack.procurement.received.length, before, 'never forwarded');
      const events = (await stack.auditRows()).filter((r) => r.correlation_id === body.correlation_id);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.kind, 'denial');
    });
  }

  test('no token, two tokens, a token in the query, a cookie: refused', async () => {
    const token = await stack.alice();
    const url = `${stack.url}/procurement/contracts/12345`;
    const none = await fetch(url);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { code: string }).code, 'MANDATE_AUTHN_CREDENTIAL_MISSING');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="mandate"', 'RFC 6750 §3.1: no error code');
    const query = await fetch(`${url}?access_token=${token}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(query.status, 400);
    assert.equal(((await query.json()) as { code: string }).code, 'MANDATE_AUTHN_CREDENTIAL_IN_QUERY');
    const cookie = await fetch(url, { headers: { authorization: `Bearer ${token}`, cookie: `session=${token}` } });
    assert.equal(cookie.status, 400);
    assert.equal(((await cookie.json()) as { code: string }).code, 'MANDATE_AUTHN_CREDENTIAL_IN_COOKIE');
    const twice = await stack.rawRequest(
      `GET /procurement/contracts/12345 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(twice, /^HTTP\/1\.1 400 /);
    assert.match(twice, /MANDATE_AUTHN_CREDENTIAL_DUPLICATED/);
  });
});
