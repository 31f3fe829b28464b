import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Authenticator } from '../../../gateway/pipeline/1-authenticate/authenticate.ts';
import type { Principal } from '../../../gateway/pipeline/1-authenticate/principal.ts';
import { TokenCache } from '../../../gateway/pipeline/1-authenticate/token-cache.ts';
import {
  assertRefused,
  bearer,
  Clock,
  claims,
  configWith,
  ISSUER,
  mint,
  signingKey,
  T0,
  writeJwksFile,
} from './fixtures.ts';

async function setUp(cacheEntries = 100) {
  const clock = new Clock();
  const key = await signingKey('key-1');
  const file = await writeJwksFile([key.publicJwk]);
  const config = configWith([{ issuer: ISSUER, jwks: { file } }], { cache_entries: cacheEntries });
  const authenticator = await Authenticator.create(config, { now: clock.now });
  return { clock, key, authenticator };
}

describe('verified-token cache', () => {
  it('answers a repeated token from the cache', async () => {
    const { clock, key, authenticator } = await setUp();
    const token = await mint(key, claims(clock.seconds));
    const first = await authenticator.authenticate(bearer(token));
    assert.equal(authenticator.cacheHits, 0);
    const second = await authenticator.authenticate(bearer(token));
    assert.equal(authenticator.cacheHits, 1);
    assert.equal(second, first);
  });

  it('still applies the credential checks on a hit', async () => {
    const { clock, key, authenticator } = await setUp();
    const token = await mint(key, claims(clock.seconds));
    await authenticator.authenticate(bearer(token));
    const twice = { rawHeaders: ['Authorization', `Bearer ${token}`, 'Authorization', `Bearer ${token}`], url: '/' };
    await assertRefused(authenticator.authenticate(twice), 'MANDATE_AUTHN_CREDENTIAL_DUPLICATED');
    await assertRefused(
      authenticator.authenticate(bearer(token, '/?access_token=1')),
      'MANDATE_AUTHN_CREDENTIAL_IN_QUERY',
    );
  });

  it('refuses an expired token even though it was cached', async () => {
    const { clock, key, authenticator } = await setUp();
    const token = await mint(key, claims(clock.seconds, { exp: clock.seconds + 60 }));
    await authenticator.authenticate(bearer(token));
    clock.seconds += 60 + 29; // within the 30 s skew: still valid, from the cache
    await authenticator.authenticate(bearer(token));
    assert.equal(authenticator.cacheHits, 1);
    clock.seconds += 1;
    await assertRefused(authenticator.authenticate(bearer(token)), 'MANDATE_AUTHN_TOKEN_EXPIRED');
    assert.equal(authenticator.cacheHits, 1);
  });

  it('caches only successful verifications', async () => {
    const { clock, key, authenticator } = await setUp();
    const noActor = await mint(key, claims(clock.seconds, { act: undefined }));
    await assertRefused(authenticator.authenticate(bearer(noActor)), 'MANDATE_AUTHN_CLAIM_INVALID');
    await assertRefused(authenticator.authenticate(bearer(noActor)), 'MANDATE_AUTHN_CLAIM_INVALID');
    assert.equal(authenticator.cacheHits, 0);
  });

  it('caches nothing with cache_entries 0', async () => {
    const { clock, key, authenticator } = await setUp(0);
    const token = await mint(key, claims(clock.seconds));
    await authenticator.authenticate(bearer(token));
    await authenticator.authenticate(bearer(token));
    assert.equal(authenticator.cacheHits, 0);
  });
});

describe('TokenCache', () => {
  const principal = (expiresAt: number) => ({ expiresAt }) as Principal;

  it('evicts the least recently used entry beyond its capacity', () => {
    const cache = new TokenCache(2, 0);
    cache.set('a', principal(T0 + 60));
    cache.set('b', principal(T0 + 60));
    assert.ok(cache.get('a', T0)); // a is now the most recent
    cache.set('c', principal(T0 + 60));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b', T0), undefined);
    assert.ok(cache.get('a', T0) && cache.get('c', T0));
  });

  it('drops an entry once expired (exp <= now - skew), and on clear()', () => {
    const cache = new TokenCache(10, 5);
    cache.set('a', principal(T0));
    assert.ok(cache.get('a', T0 + 4));
    assert.equal(cache.get('a', T0 + 5), undefined);
    assert.equal(cache.size, 0);
    cache.set('b', principal(T0));
    cache.clear();
    assert.equal(cache.get('b', T0), undefined);
  });
});
