import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jwtVerify, SignJWT } from 'jose';
import { SigningKeys } from '../../../gateway/token-service/signing-keys.ts';
import { tempDir } from '../../temp-dir.ts';

const DAY = 86_400;

describe('SigningKeys: generated on first run, rotated with an overlap window', () => {
  it('keeps a replaced key published and verifying until every token it signed has expired', async () => {
    const dir = tempDir('mandate-keys-');
    let nowMs = Date.UTC(2026, 0, 1);
    const options = {
      dir,
      algorithm: 'ES256' as const,
      rotateAfterSeconds: 30 * DAY,
      tokenLifetimeSeconds: 300,
      clockSkewSeconds: 30,
      now: () => nowMs,
    };
    const keys = await SigningKeys.open(options);
    const first = await keys.signingKey();
    assert.equal(readdirSync(dir).length, 1);
    assert.equal(statSync(join(dir, readdirSync(dir)[0]!)).mode & 0o777, 0o600, 'private key file is 0600');
    const sign = async () => {
      const { kid, alg, key } = await keys.signingKey();
      const iat = Math.floor(nowMs / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
        .setIssuedAt(iat)
        .setExpirationTime(iat + 300)
        .sign(key);
    };
    const verify = (token: string) =>
      jwtVerify(token, keys.keySet.getKey, { currentDate: new Date(nowMs), clockTolerance: 30 });

    // Just before rotation: the first key signs a token.
    nowMs += (30 * DAY - 10) * 1000;
    const old = await sign();
    // Rotation: a new key signs; both are published and the old token still verifies.
    nowMs += 20 * 1000;
    const second = await keys.signingKey();
    assert.notEqual(second.kid, first.kid);
    assert.deepEqual(
      keys.jwks().keys.map((k) => k.kid),
      [first.kid, second.kid],
    );
    assert.equal(
      keys.jwks().keys.some((k) => 'd' in k),
      false,
      'no private parts in the JWKS',
    );
    await verify(old);
    // A restart reads the same keys.
    const reopened = await SigningKeys.open(options);
    assert.equal((await reopened.signingKey()).kid, second.kid);
    // After the token lifetime plus skew, the old key is gone from the JWKS and from disk.
    nowMs += (300 + 31) * 1000;
    await keys.signingKey();
    assert.deepEqual(
      keys.jwks().keys.map((k) => k.kid),
      [second.kid],
    );
    assert.equal(readdirSync(dir).length, 1);
  });
});
