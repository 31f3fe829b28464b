import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/load.ts';
import { startCrm } from '../demo/crm.ts';
import { startProcurement } from '../demo/procurement.ts';
import { readSecret } from '../pipeline/4-inject/secret.ts';
import { ensureDevKeys } from './dev-keys.ts';

/**
 * `mandate serve --demo` (what `npm start` runs): generates the dev signing key and the demo backends'
 * service credentials on first run (under ./data, git-ignored), then starts the bundled procurement
 * and CRM backends on the ports routes.yaml points at.
 */
export async function startDemo(config: Config): Promise<{ close(): Promise<void> }> {
  if (config.dev) await ensureDevKeys(config.dev.keys_dir);
  const running: { close(): Promise<void> }[] = [];
  for (const backend of config.backends) {
    const c = backend.credential;
    if (c.type === 'none' || !c.secret.startsWith('file:')) continue;
    const file = c.secret.slice(5);
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
    }
    const url = new URL(backend.url);
    const port = Number(url.port);
    const secret = readSecret(c.secret).reveal();
    if (backend.name === 'procurement') {
      running.push(await startProcurement({ host: url.hostname, port, serviceToken: secret }));
    } else if (backend.name === 'crm') {
      running.push(await startCrm({ host: url.hostname, port, apiKey: secret }));
    }
  }
  return { close: async () => void (await Promise.all(running.map((r) => r.close()))) };
}
