import assert from 'node:assert/strict';
import { createHash, createHmac, createPublicKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertAudience } from '../../../gateway/pipeline/1-authenticate/audience.ts';
import { Authenticator } from '../../../gateway/pipeline/1-authenticate/authenticate.ts';
import {
  AUDIENCE,
  assertRefused,
  bearer,
  Clock,
  claims,
  configWith,
  handBuilt,
  ISSUER,
  mint,
  type SigningKey,
  signingKey,
  writeJwksFile,
} from './fixtures.ts';

describe('Authenticator with a JWKS file', () => {
  const clock = new Clock();
  let key: SigningKey;
  let authenticator: Authenticator;
  const now = () => clock.seconds;
  const authenticate = (token: string) => authenticator.authenticate(bearer(token));

  before(async () => {
    key = await signingKey('key-1');
    const file = await writeJwksFile([key.publicJwk]);
    const issuer = { issuer: ISSUER, jwks: { file }, algorithms: ['ES256'], user_claims: ['roles', 'region'] };
    authenticator = await Authenticator.create(configWith([issuer]), { now: clock.now });
  });
  after(() => authenticator.close());

  it('turns a valid delegation token into a Principal', async () => {
    const payload = claims(now());
    const token = await mint(key, payload);
    const principal = await authenticate(token);
    assert.deepEqual(principal, {
      user: 'alice',
      issuer: ISSUER,
      agent: { sub: 'procurement-agent', iss: 'https://agents.test' },
      chain: [{ sub: 'procurement-agent', iss: 'https://agents.test' }, { sub: 'planner-agent' }],
      jti: payload.jti,
      audience: [AUDIENCE],
      scopes: ['contracts:read', 'contracts:cancel'],
      authorizationDetails: [{ type: 'contract_action', actions: ['cancel'], identifier: 'C-1' }],
      txn: 'task-42',
      intent: 'Cancel contract C-1, it was duplicated.',
      clientId: 'agent-platform',
      issuedAt: now(),
      expiresAt: now() + 300,
      // Only the issuer's user_claims: `email` is not copied.
      attributes: { roles: ['buyer'], region: 'eu' },
      tokenHash: createHash('sha256').update(token).digest('hex'),
    });
    assert.ok(Object.isFrozen(principal) && Object.isFrozen(principal.chain) && Object.isFrozen(principal.attributes));
    assertAudience(principal, AUDIENCE);
  });

  it('accepts the typ in any case and the application/ prefix, and a lower-case scheme', async () => {
    for (const typ of ['AT+JWT', 'application/at+jwt']) {
      const token = await mint(key, claims(now()), { typ });
      assert.equal((await authenticator.authenticate(bearer(token))).user, 'alice');
    }
    const token = await mint(key, claims(now()));
    const request = { rawHeaders: ['authorization', `bearer ${token}`], url: '/' };
    assert.equal((await authenticator.authenticate(request)).user, 'alice');
  });

  it('accepts optional claims being absent and a string or array aud', async () => {
    const minimal = claims(now(), {
      scope: undefined,
      authorization_details: undefined,
      txn: undefined,
      intent: undefined,
      client_id: undefined,
      roles: undefined,
      region: undefined,
      act: { sub: 'agent' },
      aud: ['https://other.test', AUDIENCE],
    });
    const principal = await authenticate(await mint(key, minimal));
    assert.deepEqual(principal.chain, [{ sub: 'agent' }]);
    assert.deepEqual(principal.scopes, []);
    assert.deepEqual(principal.authorizationDetails, []);
    assert.deepEqual(principal.attributes, {});
    assert.equal(principal.txn, undefined);
    assert.deepEqual(principal.audience, ['https://other.test', AUDIENCE]);
  });

  describe('refuses, each with its catalogue code', () => {
    it('an expired token (beyond the clock skew)', async () => {
      const token = await mint(key, claims(now() - 400, { exp: now() - 31 }));
      await assertRefused(authenticate(token), 'MANDATE_AUTHN_TOKEN_EXPIRED');
      const withinSkew = await mint(key, claims(now() - 400, { exp: now() - 29 }));
      assert.equal((await authenticate(withinSkew)).user, 'alice');
    });

    it('a token whose nbf is in the future', async () => {
      const token = await mint(key, claims(now(), { nbf: now() + 120 }));
      await assertRefused(authenticate(token), 'MANDATE_AUTHN_TOKEN_NOT_YET_VALID');
    });

    it('a token issued in the future', async () => {
      const token = await mint(key, claims(now() + 120));
      await assertRefused(authenticate(token), 'MANDATE_AUTHN_TOKEN_NOT_YET_VALID');
    });

    it('a lifetime above max_lifetime_seconds', async () => {
      const token = await mint(key, claims(now(), { exp: now() + 3601 }));
      await assertRefused(authenticate(token), 'MANDATE_AUTHN_LIFETIME_TOO_LONG');
    });

    it('a token for another backend (assertAudience)', async () => {
      const principal = await authenticate(await mint(key, claims(now(), { aud: 'https://crm.test' })));
      assert.throws(() => assertAudience(principal, AUDIENCE), { code: 'MANDATE_AUTHN_AUDIENCE_MISMATCH' });
    });

    it('an unknown issuer', async () => {
      const token = await mint(key, claims(now(), { iss: 'https://evil.test' }));
      await assertRefused(authenticate(token), 'MANDATE_AUTHN_ISSUER_UNKNOWN');
    });

    it('an issuer that differs only in case or a trailing slash', async () => {
      for (const iss of ['https://ISSUER.test', `${ISSUER}/`]) {
        await assertRefused(authenticate(await mint(key, claims(now(), { iss }))), 'MANDATE_AUTHN_ISSUER_UNKNOWN');
      }
    });

    it('alg none, in any case', async () => {
      for (const alg of ['none', 'noNE']) {
        const token = handBuilt({ alg, typ: 'at+jwt' }, claims(now()));
        await assertRefused(authenticate(token), 'MANDATE_AUTHN_ALGORITHM_REJECTED');
      }
      // The genuine unsecured form has an empty signature, which is not even a compact JWS.
      const unsecured = handBuilt({ alg: 'none', typ: 'at+jwt' }, claims(now()), '');
      await assertRefused(authenticate(unsecured), 'MANDATE_AUTHN_TOKEN_MALFORMED');
    });

    it('HS256 signed with the issuer public key as the HMAC secret (key confusion)', async () => {
      const pem = createPublicKey({ key: key.publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      for (const secret of [pem, JSON.stringify(key.publicJwk)]) {
        const unsigned = handBuilt({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }, claims(now()), '').slice(0, -1);
        const token = `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
        await assertRefused(authenticate(token), 'MANDATE_AUTHN_ALGORITHM_REJECTED');
      }
    });

    it('an algorithm allowed by the schema but not by this issuer', async () => {
      const token = handBuilt({ alg: 'RS256', typ: 'at+jwt' }, claims(now()));
      await assertRefused(authenticate(token), 'MANDATE_AUTHN_ALGORITHM_REJECTED');
    });

    it('a tampered payload (bad signature)', async () => {
      const [header, , signature] = (await mint(key, claims(now()))).split('.');
      const forged = Buffer.from(JSON.stringify(claims(now(), { sub: 'mallory' }))).toString('base64url');
      await assertRefused(authenticate(`${header}.${forged}.${signature}`), 'MANDATE_AUTHN_SIGNATURE_INVALID');
    });

    it('a token signed by a key the issuer does not publish', async () => {
      const stranger = await signingKey('key-1');
      await assertRefused(authenticate(await mint(stranger, claims(now()))), 'MANDATE_AUTHN_SIGNATURE_INVALID');
      const unknownKid = await signingKey('key-2');
      await assertRefused(authenticate(await mint(unknownKid, claims(now()))), 'MANDATE_AUTHN_SIGNATURE_INVALID');
    });

    it('a missing act claim, an act without sub, a non-object act', async () => {
      for (const act of [undefined, { iss: 'https://agents.test' }, { sub: '' }, 'agent', { sub: 'a', iss: 7 }]) {
        await assertRefused(authenticate(await mint(key, claims(now(), { act }))), 'MANDATE_AUTHN_CLAIM_INVALID');
      }
    });

    it('a nested act without sub', async () => {
      const act = { sub: 'agent', act: { iss: 'https://agents.test' } };
      await assertRefused(authenticate(await mint(key, claims(now(), { act }))), 'MANDATE_AUTHN_CLAIM_INVALID');
    });

    it('a delegation chain deeper than max_chain_depth', async () => {
      const chainOf = (depth: number): unknown =>
        depth === 0 ? undefined : { sub: `agent-${depth}`, act: chainOf(depth - 1) };
      assert.equal((await authenticate(await mint(key, claims(now(), { act: chainOf(3) })))).chain.length, 3);
      await assertRefused(
        authenticate(await mint(key, claims(now(), { act: chainOf(4) }))),
        'MANDATE_AUTHN_CLAIM_INVALID',
      );
    });

    it('missing required claims and claims of the wrong type', async () => {
      const cases: Record<string, unknown>[] = [
        { sub: undefined },
        { jti: undefined },
        { iat: undefined },
        { exp: undefined },
        { aud: undefined },
        { aud: [] },
        { aud: [AUDIENCE, 7] },
        { iss: undefined },
        { sub: 42 },
        { iat: '1893456000' },
        { scope: ['contracts:read'] },
        { authorization_details: { type: 'x' } },
        { authorization_details: [{ actions: ['cancel'] }] },
        { txn: 42 },
        { intent: 'x'.repeat(2001) },
        { client_id: false },
      ];
      for (const overrides of cases) {
        const token = await mint(key, claims(now(), overrides));
        await assertRefused(authenticate(token), 'MANDATE_AUTHN_CLAIM_INVALID');
      }
    });

    it('a typ other than at+jwt (an ID token, or none)', async () => {
      for (const typ of ['JWT', 'at+jwt; charset=x', undefined]) {
        const token = await mint(key, claims(now()), { typ });
        await assertRefused(authenticate(token), 'MANDATE_AUTHN_TOKEN_TYPE_INVALID');
      }
      // The header is judged before the claims set is even decoded.
      const garbage = handBuilt({ alg: 'ES256', typ: 'JWT' }, 'not claims');
      await assertRefused(authenticate(garbage), 'MANDATE_AUTHN_TOKEN_TYPE_INVALID');
    });

    it('a token larger than max_bytes, before parsing it', async () => {
      await assertRefused(authenticate('a'.repeat(8193)), 'MANDATE_AUTHN_TOKEN_TOO_LARGE');
      const padded = await mint(key, claims(now(), { padding: 'x'.repeat(8192) }));
      await assertRefused(authenticate(padded), 'MANDATE_AUTHN_TOKEN_TOO_LARGE');
    });

    it('key references in the header: jku, x5u, jwk, x5c', async () => {
      for (const extra of [
        { jku: 'https://evil.test/jwks' },
        { x5u: 'https://evil.test/cert' },
        { jwk: key.publicJwk },
        { x5c: ['MIIB'] },
      ]) {
        await assertRefused(authenticate(await mint(key, claims(now()), extra)), 'MANDATE_AUTHN_TOKEN_MALFORMED');
      }
    });

    it('a crit header, a bad kid, a duplicated header member', async () => {
      const header = { alg: 'ES256', typ: 'at+jwt' };
      await assertRefused(
        authenticate(handBuilt({ ...header, crit: ['exp'] }, claims(now()))),
        'MANDATE_AUTHN_TOKEN_MALFORMED',
      );
      await assertRefused(
        authenticate(handBuilt({ ...header, crit: [] }, claims(now()))),
        'MANDATE_AUTHN_TOKEN_MALFORMED',
      );
      for (const kid of ['../../etc/passwd', "k' OR 1=1", 'k'.repeat(129), 7]) {
        await assertRefused(authenticate(await mint(key, claims(now()), { kid })), 'MANDATE_AUTHN_TOKEN_MALFORMED');
      }
      const twice = Buffer.from('{"alg":"ES256","typ":"at+jwt","alg":"ES256"}').toString('base64url');
      const [, payload, signature] = (await mint(key, claims(now()))).split('.');
      await assertRefused(authenticate(`${twice}.${payload}.${signature}`), 'MANDATE_AUTHN_TOKEN_MALFORMED');
      const escaped = Buffer.from('{"alg":"ES256","typ":"at+jwt","\\u0061lg":"ES256"}').toString('base64url');
      await assertRefused(authenticate(`${escaped}.${payload}.${signature}`), 'MANDATE_AUTHN_TOKEN_MALFORMED');
    });

    it('a duplicated claim (two sub members)', async () => {
      const [header, , signature] = (await mint(key, claims(now()))).split('.');
      const body = JSON.stringify(claims(now())).replace('{', '{"sub":"mallory",');
      const token = `${header}.${Buffer.from(body).toString('base64url')}.${signature}`;
      await assertRefused(authenticate(token), 'MANDATE_AUTHN_TOKEN_MALFORMED');
    });

    it('things that are not compact JWS', async () => {
      for (const token of [
        'abc',
        'a.b',
        'a.b.c.d.e',
        '{"alg":"ES256"}.e30.c2ln',
        'YQ.YQ.YQ',
        handBuilt(['at+jwt'], {}),
        handBuilt({ alg: 'ES256', typ: 'at+jwt' }, 'claims'),
      ]) {
        await assertRefused(authenticate(token), 'MANDATE_AUTHN_TOKEN_MALFORMED');
      }
      const invalidUtf8 = `${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.e30.c2ln`;
      await assertRefused(authenticate(invalidUtf8), 'MANDATE_AUTHN_TOKEN_MALFORMED');
    });
  });
});

describe('Authenticator.create', () => {
  it('fails start-up when a JWKS file is unusable', async () => {
    const issuer = (file: string) => ({ issuer: ISSUER, jwks: { file } });
    await assert.rejects(Authenticator.create(configWith([issuer('/nonexistent/jwks.json')])), /cannot load JWKS file/);
    const symmetricOnly = await writeJwksFile([{ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }]);
    await assert.rejects(Authenticator.create(configWith([issuer(symmetricOnly)])), /no usable/);
  });

  it('scopes keys to their issuer: another trusted issuer key does not verify', async () => {
    const [keyA, keyB] = [await signingKey('a'), await signingKey('b')];
    // Two issuers for one user directory (users are matched by sub: config/user-namespace-check.ts).
    const issuers = [
      { issuer: 'https://a.test', jwks: { file: await writeJwksFile([keyA.publicJwk]) }, user_namespace: 'corp' },
      { issuer: 'https://b.test', jwks: { file: await writeJwksFile([keyB.publicJwk]) }, user_namespace: 'corp' },
    ];
    const clock = new Clock();
    const authenticator = await Authenticator.create(configWith(issuers), { now: clock.now });
    const asB = await mint(keyA, claims(clock.seconds, { iss: 'https://b.test' }), { kid: 'b' });
    await assertRefused(authenticator.authenticate(bearer(asB)), 'MANDATE_AUTHN_SIGNATURE_INVALID');
    const good = await mint(keyB, claims(clock.seconds, { iss: 'https://b.test' }));
    assert.equal((await authenticator.authenticate(bearer(good))).issuer, 'https://b.test');
  });

  it('ignores encryption keys and verifies without a kid by trying each candidate key', async () => {
    const [first, second, enc] = [await signingKey('k1'), await signingKey('k2'), await signingKey('enc')];
    const noKid = ({ kid: _, ...jwk }: Record<string, unknown>) => jwk;
    const file = await writeJwksFile([
      { ...enc.publicJwk, use: 'enc' },
      noKid(first.publicJwk),
      noKid(second.publicJwk),
    ]);
    const clock = new Clock();
    const authenticator = await Authenticator.create(configWith([{ issuer: ISSUER, jwks: { file } }]), {
      now: clock.now,
    });
    const bySecond = await mint(second, claims(clock.seconds), { kid: undefined });
    assert.equal((await authenticator.authenticate(bearer(bySecond))).user, 'alice');
    const byEnc = await mint(enc, claims(clock.seconds), { kid: 'enc' });
    await assertRefused(authenticator.authenticate(bearer(byEnc)), 'MANDATE_AUTHN_SIGNATURE_INVALID');
  });
});
