import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractBearer } from '../../../gateway/pipeline/1-authenticate/bearer.ts';
import { assertRefused } from './fixtures.ts';

const extract = (rawHeaders: string[], url = '/contracts') => extractBearer({ rawHeaders, url }, 64);

describe('extractBearer', () => {
  it('returns the token of one Authorization: Bearer header, scheme in any case', () => {
    assert.equal(extract(['Authorization', 'Bearer abc.def.ghi']), 'abc.def.ghi');
    assert.equal(extract(['authorization', 'BEARER  abc']), 'abc');
    assert.equal(extract(['Accept', '*/*', 'AUTHORIZATION', 'bearer abc'], '/x?q=1&token=2'), 'abc');
  });

  it('refuses two Authorization headers, even identical ones (Node keeps only one in req.headers)', async () => {
    await assertRefused(
      () => extract(['Authorization', 'Bearer a', 'authorization', 'Bearer a']),
      'MANDATE_AUTHN_CREDENTIAL_DUPLICATED',
    );
  });

  it('refuses a missing credential, another scheme or an empty header as CREDENTIAL_MISSING', async () => {
    for (const headers of [
      [],
      ['Authorization', ''],
      ['Authorization', 'Basic YWxpY2U6cHc='],
      ['X-Token', 'Bearer a'],
    ]) {
      await assertRefused(() => extract(headers), 'MANDATE_AUTHN_CREDENTIAL_MISSING');
    }
  });

  it('refuses Bearer with no token as TOKEN_MALFORMED (extra words are left to the compact-form check)', async () => {
    await assertRefused(() => extract(['Authorization', 'Bearer']), 'MANDATE_AUTHN_TOKEN_MALFORMED');
    await assertRefused(() => extract(['Authorization', 'Bearer   ']), 'MANDATE_AUTHN_TOKEN_MALFORMED');
    assert.equal(extract(['Authorization', 'Bearer a b']), 'a b');
  });

  it('refuses an access_token query parameter in any case or encoding', async () => {
    for (const url of [
      '/c?access_token=x',
      '/c?a=1&ACCESS_TOKEN=x',
      '/c?Access_Token',
      '/c?access%5Ftoken=x',
      '/c?a=1;access_token=x',
    ]) {
      await assertRefused(() => extract(['Authorization', 'Bearer a'], url), 'MANDATE_AUTHN_CREDENTIAL_IN_QUERY');
    }
    assert.equal(extract(['Authorization', 'Bearer a'], '/c?my_access_token=x&%zz=1'), 'a');
  });

  it('refuses any Cookie header', async () => {
    await assertRefused(
      () => extract(['Authorization', 'Bearer a', 'Cookie', 'theme=dark']),
      'MANDATE_AUTHN_CREDENTIAL_IN_COOKIE',
    );
    await assertRefused(() => extract(['cookie', 'session=abc']), 'MANDATE_AUTHN_CREDENTIAL_IN_COOKIE');
  });

  it('refuses a token above the size cap before anything else looks at it', async () => {
    assert.equal(extract(['Authorization', `Bearer ${'a'.repeat(64)}`]).length, 64);
    await assertRefused(() => extract(['Authorization', `Bearer ${'a'.repeat(65)}`]), 'MANDATE_AUTHN_TOKEN_TOO_LARGE');
  });
});
