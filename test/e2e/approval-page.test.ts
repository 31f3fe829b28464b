import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { startGatewayProcess } from './harness.ts';
import { startTokenStack, type TokenStack } from './token-exchange-harness.ts';

const CANCEL = '/procurement/contracts/12345/cancel';
const PAGE = '/_mandate/approvals/';
const clientSecret = randomBytes(32).toString('base64url');
/** Agent-controlled text shown on the page: it must stay text. */
const hostileBody = '{"reason":"<script>window.pwned = 1</script><img src=x onerror=\\"window.pwned = 2\\">"}';

/**
 * The approval page in Debian's headless Chromium (playwright-core): alice logs in through the real
 * oidc-provider login form (authorization code + PKCE, Mandate as the relying party), sees exactly
 * what her agent asked, approves, and the agent's retry is forwarded.
 */
describe('approval page', () => {
  let tx: TokenStack;
  let browser: Browser;

  before(async () => {
    tx = await startTokenStack({
      env: { MANDATE_TEST_APPROVAL_CLIENT_SECRET: clientSecret },
      // A native (loopback) client: RFC 8252 §7.3 lets the port vary, and the gateway's is chosen at start.
      idpClients: [
        {
          client_id: 'mandate-approvals',
          client_secret: clientSecret,
          application_type: 'native',
          redirect_uris: ['http://127.0.0.1/_mandate/approvals/callback'],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          id_token_signed_response_alg: 'ES256',
        },
      ],
      editConfig(config) {
        const cancel = config.routes.find((r: { action: string }) => r.action === 'procurement.contract.cancel');
        cancel.tier = 'approval';
        cancel.body = { max_bytes: 4096, fields: [] };
        config.identity_providers[0].approval_login = {
          client_id: 'mandate-approvals',
          client_secret: 'env:MANDATE_TEST_APPROVAL_CLIENT_SECRET',
        };
      },
    });
    browser = await chromium.launch({
      executablePath: execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim(),
      args: ['--no-sandbox'],
    });
  });
  after(async () => {
    await browser?.close();
    await tx?.stop();
  });

  async function agentCall(approvalId?: string): Promise<Response> {
    const token = await tx.stack.alice();
    return fetch(`${tx.stack.url}${CANCEL}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(approvalId ? { 'x-mandate-approval': approvalId } : {}),
      },
      body: hostileBody,
    });
  }

  test('log in at the IdP, see the held call as it is, approve it; the retry is forwarded', async () => {
    const held = (await (await agentCall()).json()) as { code: string; approval_id: string; approval_url: string };
    assert.equal(held.code, 'MANDATE_APPROVAL_REQUIRED');

    const page = await (await browser.newContext()).newPage();
    const scriptErrors: string[] = [];
    page.on('pageerror', (e) => scriptErrors.push(e.message));
    // Not logged in: the page sends the browser to the IdP's login form.
    await page.goto(held.approval_url);
    assert.ok(page.url().startsWith(tx.idp.issuer), `at the IdP: ${page.url()}`);
    await page.fill('input[name=login]', 'alice');
    await page.fill('input[name=password]', 'any');
    await page.click('button[type=submit]');
    await page.click('button[type=submit]'); // consent
    await page.waitForURL(`${tx.stack.url}${PAGE}`);

    assert.equal(await page.locator('#user').textContent(), 'alice');
    const item = page.locator(`section#${held.approval_id}`);
    assert.equal(await item.locator('.request').textContent(), `POST ${CANCEL}`);
    assert.equal(await item.locator('pre.body').textContent(), hostileBody);
    assert.equal(await item.locator('.agents').textContent(), 'hr-agent');
    assert.equal(await item.locator('.intent').textContent(), 'cancel my contractor agreement with vendor X');
    assert.equal(await page.locator('script, img').count(), 0);

    // The session cookie is HttpOnly and SameSite=Strict; scripts could not read it even if one ran.
    const session = (await page.context().cookies()).find((c) => c.name === 'mandate_approvals_session');
    assert.deepEqual([session?.httpOnly, session?.sameSite], [true, 'Strict']);

    await item.locator('button.approve').click();
    // Back on the list (303 after the post), which is now empty.
    await page.locator('#none').waitFor({ timeout: 10_000 });
    assert.equal(page.url(), `${tx.stack.url}${PAGE}`);
    assert.equal(await page.locator(`section#${held.approval_id}`).count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);
    assert.deepEqual(scriptErrors, []);

    // With her session cookie but without the page's CSRF token (a forged form): refused, nothing decided.
    const next = (await (await agentCall()).json()) as { approval_id: string };
    const forged = await page.context().request.post(`${tx.stack.url}${PAGE}${next.approval_id}/approve`, {
      form: { csrf: 'guess' },
      headers: { origin: tx.stack.url },
    });
    assert.equal(forged.status(), 403);
    assert.equal(((await forged.json()) as { code: string }).code, 'MANDATE_APPROVAL_CSRF');

    const retry = await agentCall(held.approval_id);
    assert.equal(retry.status, 200);
    await retry.arrayBuffer();
    assert.equal(tx.stack.procurement.received.filter((r) => r.url === '/contracts/12345/cancel').length, 1);
    const granted = (await tx.stack.auditRows()).find((r) => r.kind === 'approval_granted');
    assert.deepEqual(JSON.parse(String(granted?.detail)).via, 'page');
  });

  test('behind a load balancer: a login begun on one gateway completes on another; the session outlives a restart', async () => {
    // Gateway B: the same configuration and state database, an audit trail of its own.
    const config = parse(readFileSync(tx.stack.configFile, 'utf8'));
    const start = async (name: string) => {
      config.gateway.audit_db = join(tx.stack.dir, `audit-${name}.db`);
      config.gateway.audit_checkpoint = {
        file: join(tx.stack.dir, `checkpoints-${name}.jsonl`),
        key_dir: join(tx.stack.dir, `audit-keys-${name}`),
      };
      const file = join(tx.stack.dir, `routes-${name}.yaml`);
      writeFileSync(file, stringify(config));
      const { gateway, port } = await startGatewayProcess(file, { MANDATE_TEST_APPROVAL_CLIENT_SECRET: clientSecret });
      return { gateway, port };
    };
    const stop = async (gateway: ChildProcess) => {
      const exited = new Promise((resolve) => gateway.once('exit', resolve));
      gateway.kill('SIGTERM');
      await exited;
    };
    let b = await start('b');
    // The load balancer: logins begin on A, everything else (the IdP's callback included) goes to B.
    const aPort = Number(new URL(tx.stack.url).port);
    const balancer = createServer((req, res) => {
      const port = req.url?.startsWith(`${PAGE}login`) ? aPort : b.port;
      const upstream = request(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => balancer.listen(0, '127.0.0.1', resolve));
    const lb = `http://127.0.0.1:${(balancer.address() as AddressInfo).port}`;
    try {
      const held = (await (await agentCall()).json()) as { approval_id: string };
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${lb}${PAGE}`);
      await page.fill('input[name=login]', 'alice');
      await page.fill('input[name=password]', 'any');
      await page.click('button[type=submit]');
      await page.click('button[type=submit]'); // consent
      await page.waitForURL(`${lb}${PAGE}`);
      assert.equal(await page.locator('#user').textContent(), 'alice', 'B completed the login A began');
      assert.equal(await page.locator(`section#${held.approval_id}`).count(), 1, 'B lists the call A held');

      // The session cookie works on A directly (a cookie is per host, not per port), and after B restarts.
      await page.goto(`${tx.stack.url}${PAGE}`);
      assert.equal(page.url(), `${tx.stack.url}${PAGE}`, 'A knows the session: no login');
      await stop(b.gateway);
      b = await start('b2');
      await page.goto(`${lb}${PAGE}`);
      assert.equal(page.url(), `${lb}${PAGE}`, 'a restart logged nobody out');
      await page.locator(`section#${held.approval_id} button.approve`).click();
      await page.locator(`section#${held.approval_id}`).waitFor({ state: 'detached', timeout: 10_000 });
      // Approved on the restarted B, used on A: the retry is forwarded (the backend answers it, here
      // with 409, as the first test cancelled that contract already).
      const cancels = () => tx.stack.procurement.received.filter((r) => r.url === '/contracts/12345/cancel').length;
      const before = cancels();
      const retry = await agentCall(held.approval_id);
      await retry.arrayBuffer();
      assert.equal(cancels(), before + 1, `forwarded (${retry.status})`);

      // Signing out on B ends the session on A too: the old cookie no longer opens the page there.
      const cookie = (await page.context().cookies()).find((c) => c.name === 'mandate_approvals_session')!;
      await page.locator(`form[action="${PAGE}logout"] button`).click();
      await page.waitForLoadState();
      const replayed = await fetch(`${tx.stack.url}${PAGE}`, {
        headers: { cookie: `${cookie.name}=${cookie.value}` },
        redirect: 'manual',
      });
      assert.equal(replayed.headers.get('location'), `${PAGE}login`, `status ${replayed.status}`);
    } finally {
      balancer.close();
      await stop(b.gateway);
    }
  });

  test('a form post without a session is refused and audited', async () => {
    const held = (await (await agentCall()).json()) as { approval_id: string };
    const url = `${tx.stack.url}${PAGE}${held.approval_id}/approve`;
    const noSession = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=guess',
    });
    assert.equal(noSession.status, 401);
    assert.equal(((await noSession.json()) as { code: string }).code, 'MANDATE_APPROVER_UNAUTHENTICATED');
    const rows = (await tx.stack.auditRows()).filter((r) => r.path === `${PAGE}${held.approval_id}/approve`);
    assert.deepEqual(
      rows.map((r) => r.reason),
      ['approval.approver_unauthenticated'],
    );
  });
});
