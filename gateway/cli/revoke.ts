/**
 * `mandate revoke --user U | --txn T | --agent A | --jti J [--expires-at EXP] --reason R [--config routes.yaml]`.
 *
 * Writes the revocation straight into the state database (`gateway.state_db`), so it works whether or
 * not a gateway is running, and appends its `revocation` event to the audit trail (`gateway.audit_db`;
 * the audit store serialises writers from several processes). A running gateway on the same files
 * picks the revocation up within a second. Authority is write access to those two files: the same
 * operator who runs the gateway. `revoked_by` is `cli:<os user>`.
 *
 * Prints the stored revocation as one JSON line. Exit codes: 0 revoked and audited; 1 revoked and in
 * effect, but the audit event could not be written (run the command again to record it); 2 usage or
 * configuration error, or the state database refused the write — nothing was revoked.
 *
 * @module
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { MandateError } from '../errors.ts';
import {
  jtiRevocationExpiry,
  parseRevocationRequest,
  type RevocationRequest,
  revocationJson,
} from '../revocation/revocation.ts';
import { revocationEvent } from '../revocation/revocation-event.ts';
import { RevocationStore } from '../revocation/revocation-store.ts';
import { appendFromCli, cliOrigin } from './cli-audit.ts';

const usage =
  'usage: mandate revoke --user U | --txn T | --agent A | --jti J [--expires-at EXP] --reason R [--config routes.yaml]';

const options = {
  user: { type: 'string' },
  txn: { type: 'string' },
  agent: { type: 'string' },
  jti: { type: 'string' },
  reason: { type: 'string' },
  'expires-at': { type: 'string' },
  config: { type: 'string', default: 'routes.yaml' },
} as const;

export async function run(args: string[]): Promise<number> {
  let request: RevocationRequest;
  let config: ReturnType<typeof loadConfig>;
  try {
    const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
    const targets = (['user', 'txn', 'agent', 'jti'] as const).filter((t) => values[t] !== undefined);
    if (targets.length !== 1) throw new Error('exactly one of --user, --txn, --agent, --jti is required');
    const target = targets[0]!;
    const expiresAt = values['expires-at'];
    request = parseRevocationRequest({
      target,
      value: values[target],
      reason: values.reason,
      // The revoked token's exp (--jti only): the revocation is pruned after it.
      ...(expiresAt === undefined ? {} : { expires_at: /^\d+$/.test(expiresAt) ? Number(expiresAt) : expiresAt }),
    });
    config = loadConfig(values.config);
  } catch (e) {
    const message = e instanceof MandateError ? (e.detail ?? e.code) : (e as Error).message;
    process.stderr.write(`${message.replace(/^reason: /, '--reason: ')}\n${usage}\n`);
    return 2;
  }

  let revocation: ReturnType<RevocationStore['insert']>;
  try {
    const store = RevocationStore.open(config.gateway.state_db);
    try {
      const now = Date.now();
      const expiresAtMs = jtiRevocationExpiry(request, now, config.gateway.tokens);
      revocation = store.insert(request, `cli:${userInfo().username}`, now, expiresAtMs);
    } finally {
      store.close();
    }
  } catch (e) {
    process.stderr.write(`cannot store the revocation in ${config.gateway.state_db}: ${(e as Error).message}\n`);
    process.stderr.write('nothing was revoked\n');
    return 2;
  }
  process.stdout.write(`${JSON.stringify(revocationJson(revocation))}\n`);

  const origin = { ...cliOrigin('mandate revoke'), via: 'cli' } as const;
  const notAudited = appendFromCli(config.gateway.audit_db, revocationEvent(revocation, origin, true));
  if (notAudited !== undefined) {
    process.stderr.write(
      `revocation ${revocation.id} is stored and in effect, but its audit event could not be written to ` +
        `${config.gateway.audit_db} (${notAudited}); run the command again to record it\n`,
    );
    return 1;
  }
  return 0;
}
