import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { authenticateAdmin } from '../../../gateway/admin/admin-auth.ts';
import { AdminKeyring } from '../../../gateway/admin/admin-keyring.ts';
import type { AdminConfig } from '../../../gateway/config/schema.ts';
import { MandateError } from '../../../gateway/errors.ts';
import { tempDir } from '../../temp-dir.ts';

const newKey = () => randomBytes(32).toString('base64url');

/** Keys by reference, as routes.yaml gives them: one through a file, one through the environment. */
function keyring(): { gw: { adminKeys: AdminKeyring | undefined }; opsKey: string; auditKey: string } {
  const dir = tempDir('mandate-admin-');
  const opsKey = newKey();
  const auditKey = newKey();
  writeFileSync(join(dir, 'ops.key'), `${opsKey}\n`);
  process.env.MANDATE_TEST_AUDIT_KEY = auditKey;
  const config: AdminConfig = {
    keys: [
      { name: 'ops', secret: `file:${join(dir, 'ops.key')}`, roles: ['admin'] },
      { name: 'auditors', secret: 'env:MANDATE_TEST_AUDIT_KEY', roles: ['auditor'] },
    ],
  };
  return { gw: { adminKeys: AdminKeyring.load(config) }, opsKey, auditKey };
}

const bearer = (key: string) => ({ rawHeaders: ['Host', 'x', 'Authorization', `Bearer ${key}`] });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof MandateError, String(e));
    return e.code;
  }
}

test('a configured key with the role is the principal named in routes.yaml', () => {
  const { gw, opsKey, auditKey } = keyring();
  assert.deepEqual(authenticateAdmin(gw, bearer(opsKey), 'admin'), { name: 'ops', roles: ['admin'] });
  assert.deepEqual(authenticateAdmin(gw, bearer(auditKey), 'auditor'), { name: 'auditors', roles: ['auditor'] });
  // The scheme is case-insensitive (RFC 9110 §11.1).
  assert.equal(authenticateAdmin(gw, { rawHeaders: ['authorization', `bearer ${opsKey}`] }, 'admin').name, 'ops');
});

test('a missing, malformed, duplicated or unknown key is 401 MANDATE_ADMIN_UNAUTHENTICATED', () => {
  const { gw, opsKey } = keyring();
  const cases = [
    { rawHeaders: [] },
    { rawHeaders: ['Authorization', `Basic ${opsKey}`] },
    { rawHeaders: ['Authorization', 'Bearer'] },
    { rawHeaders: ['Authorization', `Bearer ${opsKey} extra`] },
    { rawHeaders: ['Authorization', `Bearer ${opsKey}`, 'Authorization', `Bearer ${opsKey}`] },
    bearer(newKey()),
    // One character off, and the key with a character more: neither is the key.
    bearer(`${opsKey.slice(0, -1)}${opsKey.endsWith('A') ? 'B' : 'A'}`),
    bearer(`${opsKey}x`),
  ];
  for (const req of cases)
    assert.equal(
      codeOf(() => authenticateAdmin(gw, req, 'admin')),
      'MANDATE_ADMIN_UNAUTHENTICATED',
    );
  const error = new MandateError('MANDATE_ADMIN_UNAUTHENTICATED');
  assert.equal(error.entry.status, 401);
  assert.equal(error.entry.wwwAuthenticate, 'invalid_token');
});

test('a known key without the role is 403 MANDATE_ADMIN_FORBIDDEN; admin does not imply auditor', () => {
  const { gw, opsKey, auditKey } = keyring();
  assert.equal(
    codeOf(() => authenticateAdmin(gw, bearer(auditKey), 'admin')),
    'MANDATE_ADMIN_FORBIDDEN',
  );
  assert.equal(
    codeOf(() => authenticateAdmin(gw, bearer(opsKey), 'auditor')),
    'MANDATE_ADMIN_FORBIDDEN',
  );
  assert.equal(new MandateError('MANDATE_ADMIN_FORBIDDEN').entry.status, 403);
});

test('no admin section: every admin call is 404 MANDATE_ADMIN_DISABLED, whatever it presents', () => {
  const gw = { adminKeys: AdminKeyring.load(undefined) };
  assert.equal(gw.adminKeys, undefined);
  assert.equal(
    codeOf(() => authenticateAdmin(gw, bearer(newKey()), 'admin')),
    'MANDATE_ADMIN_DISABLED',
  );
  assert.equal(
    codeOf(() => authenticateAdmin(gw, { rawHeaders: [] }, 'auditor')),
    'MANDATE_ADMIN_DISABLED',
  );
  assert.equal(new MandateError('MANDATE_ADMIN_DISABLED').entry.status, 404);
});

test('keys are compared as SHA-256 digests with timingSafeEqual; the keyring holds no key', () => {
  const { gw, opsKey } = keyring();
  // Every configured digest is compared (equal lengths, never an early exit): a presented key of any
  // length is hashed first, so timingSafeEqual never throws on a length mismatch.
  for (const presented of ['a', 'x'.repeat(4096), opsKey]) {
    assert.doesNotThrow(() => gw.adminKeys!.identify(presented));
  }
  assert.ok(!inspect(gw.adminKeys, { depth: 10, showHidden: true }).includes(opsKey));
  assert.ok(!JSON.stringify(gw.adminKeys).includes(opsKey));
});

test('start-up refuses a short key, the same key under two names, and a missing reference', () => {
  process.env.MANDATE_TEST_SHORT_KEY = 'tiny-secret-value';
  process.env.MANDATE_TEST_SAME_KEY = newKey();
  assert.throws(
    () => AdminKeyring.load({ keys: [{ name: 'a', secret: 'env:MANDATE_TEST_SHORT_KEY', roles: ['admin'] }] }),
    /shorter than 32 characters/,
  );
  assert.throws(
    () =>
      AdminKeyring.load({
        keys: [
          { name: 'a', secret: 'env:MANDATE_TEST_SAME_KEY', roles: ['admin'] },
          { name: 'b', secret: 'env:MANDATE_TEST_SAME_KEY', roles: ['auditor'] },
        ],
      }),
    /configured twice/,
  );
  assert.throws(
    () => AdminKeyring.load({ keys: [{ name: 'a', secret: 'env:MANDATE_TEST_UNSET_KEY', roles: ['admin'] }] }),
    /not set/,
  );
  assert.throws(
    () => AdminKeyring.load({ keys: [{ name: 'a', secret: 'env:MANDATE_TEST_SHORT_KEY', roles: ['admin'] }] }),
    (e: Error) => !e.message.includes('tiny-secret-value'),
    'the value is never echoed',
  );
});
