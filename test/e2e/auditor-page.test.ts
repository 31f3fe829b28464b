import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { type Stack, startStack } from './harness.ts';

const AUDIT = '/_mandate/audit/';
const auditorKey = randomBytes(32).toString('base64url');
const adminKey = randomBytes(32).toString('base64url');
/** What an agent (or whoever crafted its token) can put in the intent: it must stay text. */
const hostileIntent = `cancel it <script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> "quoted" & done`;

/** The auditor page in Debian's headless Chromium, driven by playwright-core, against a real gateway. */
describe('auditor page', () => {
  let stack: Stack;
  let browser: Browser;
  let txn: string;

  before(async () => {
    stack = await startStack({
      env: { MANDATE_TEST_AUDITOR_KEY: auditorKey, MANDATE_TEST_ADMIN_KEY: adminKey },
      editConfig: (config) => {
        config.admin = {
          keys: [
            { name: 'auditor-1', secret: 'env:MANDATE_TEST_AUDITOR_KEY', roles: ['auditor'] },
            { name: 'ops', secret: 'env:MANDATE_TEST_ADMIN_KEY', roles: ['admin'] },
          ],
        };
      },
    });
    txn = `task-${randomBytes(4).toString('hex')}`;
    const token = await stack.alice({ intent: hostileIntent, txn });
    for (const contract of ['12345', '12346']) {
      const res = await fetch(`${stack.url}/procurement/contracts/${contract}/cancel`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, contract === '12345' ? 200 : 403);
      await res.arrayBuffer();
    }
    await stack.auditRows();
    browser = await chromium.launch({
      executablePath: execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim(),
      // Chromium's sandbox needs user namespaces, which containers and root sessions often lack.
      args: ['--no-sandbox'],
    });
  });
  after(async () => {
    await browser?.close();
    await stack.stop();
  });

  const auditorPage = async (key = auditorKey) => {
    const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${key}` } });
    const page = await context.newPage();
    const scriptErrors: string[] = [];
    page.on('pageerror', (e) => scriptErrors.push(e.message));
    return { page, scriptErrors };
  };

  test('search by user, open the task timeline, see the verify status; hostile intent stays text', async () => {
    const { page, scriptErrors } = await auditorPage();
    const response = await page.goto(`${stack.url}${AUDIT}`);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /script-src|unsafe-inline/);

    await page.fill('input[name=user]', 'alice');
    await page.fill('input[name=action]', 'procurement.contract.cancel');
    await Promise.all([page.waitForURL(/user=alice/), page.click('button[type=submit]')]);
    const kinds = await page.locator('#events tbody tr td:nth-child(3)').allTextContents();
    assert.deepEqual(kinds, ['decision', 'outcome', 'denial']);
    const resources = await page.locator('#events tbody tr td:nth-child(7)').allTextContents();
    assert.deepEqual(resources, ['contract:12345', 'contract:12345', 'contract:12346']);
    // The intent is shown exactly as written — as text: no element was created from it, nothing ran.
    assert.deepEqual(await page.locator('#events td.intent').allTextContents(), Array(3).fill(hostileIntent));
    assert.equal(await page.locator('script, img').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);
    // The stylesheet loaded (style-src 'self'): the header cells got its background.
    // (No DOM lib in this project's types: the browser's getComputedStyle, typed by hand.)
    type Styles = { getComputedStyle(element: unknown): { backgroundColor: string } };
    const thBackground = await page
      .locator('th')
      .first()
      .evaluate((th) => (globalThis as unknown as Styles).getComputedStyle(th).backgroundColor);
    assert.equal(thBackground, 'rgb(243, 243, 243)');

    await Promise.all([page.waitForURL(/\/task\?txn=/), page.locator('#events a', { hasText: txn }).first().click()]);
    assert.equal(await page.locator('#txn').textContent(), txn);
    const steps = await page.locator('#timeline tbody tr td:nth-child(3)').allTextContents();
    assert.deepEqual(steps, [
      'allowed procurement.contract.cancel',
      'backend answered 200',
      'refused procurement.contract.cancel: authz.denied',
    ]);
    assert.deepEqual(await page.locator('q.intent').allTextContents(), [hostileIntent]);

    await page.click('nav a[href$="verify"]');
    assert.equal(await page.locator('#verify-status').textContent(), 'Intact');
    assert.equal(Number(await page.locator('#verified-events').textContent()), (await stack.auditRows()).length);
    assert.deepEqual(scriptErrors, []);
  });

  test('a malformed time is refused with 400, nothing else rendered', async () => {
    const { page } = await auditorPage();
    const response = await page.goto(`${stack.url}${AUDIT}?since=yesterday`);
    assert.equal(response?.status(), 400);
    assert.equal((await response!.json()).code, 'MANDATE_REQUEST_MALFORMED');
  });

  test('without a key: 401; with a key lacking the auditor role: 403; every refusal audited', async () => {
    const anonymous = await (await browser.newContext()).newPage();
    const refused = await anonymous.goto(`${stack.url}${AUDIT}?user=alice`);
    assert.equal(refused?.status(), 401);
    assert.equal((await refused!.json()).code, 'MANDATE_ADMIN_UNAUTHENTICATED');
    assert.equal(await anonymous.locator('#events').count(), 0);

    const { page } = await auditorPage(adminKey);
    const forbidden = await page.goto(`${stack.url}${AUDIT}task?txn=${txn}`);
    assert.equal(forbidden?.status(), 403);
    assert.equal((await forbidden!.json()).code, 'MANDATE_ADMIN_FORBIDDEN');

    const refusals = (await stack.auditRows()).filter((r) => String(r.path).startsWith(AUDIT));
    assert.deepEqual(
      refusals.map((r) => [r.kind, r.reason, r.status]),
      [
        ['denial', 'request.malformed', 400],
        ['denial', 'admin.unauthenticated', 401],
        ['denial', 'admin.forbidden', 403],
      ],
    );
  });
});
