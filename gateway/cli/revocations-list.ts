/**
 * `mandate revocations list [--config routes.yaml] [--limit N] [--format table|json]`: the stored
 * revocations, newest first (default 100), read from the state database (`gateway.state_db`).
 * Exit codes: 0 success (also when there are none); 2 usage error or unreadable database.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { type Revocation, revocationJson } from '../revocation/revocation.ts';
import { RevocationStore } from '../revocation/revocation-store.ts';

const usage = 'usage: mandate revocations list [--config routes.yaml] [--limit N] [--format table|json]';

const options = {
  config: { type: 'string', default: 'routes.yaml' },
  limit: { type: 'string', default: '100' },
  format: { type: 'string', default: 'table' },
} as const;

export async function run(args: string[]): Promise<number> {
  let values: { config: string; limit: string; format: string };
  try {
    values = parseArgs({ args, options, strict: true }).values;
    if (!/^[1-9]\d{0,8}$/.test(values.limit)) throw new Error(`--limit: expected a positive integer`);
    if (values.format !== 'table' && values.format !== 'json') throw new Error('--format: table or json');
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  let revocations: Revocation[];
  try {
    const store = RevocationStore.open(loadConfig(values.config).gateway.state_db);
    try {
      revocations = store.newestFirst(Number(values.limit));
    } finally {
      store.close();
    }
  } catch (e) {
    process.stderr.write(`cannot read revocations: ${(e as Error).message}\n`);
    return 2;
  }
  process.stdout.write(
    values.format === 'json' ? `${JSON.stringify(revocations.map(revocationJson))}\n` : table(revocations),
  );
  return 0;
}

function table(revocations: readonly Revocation[]): string {
  const rows = revocations.map((r) => {
    const j = revocationJson(r);
    return [String(j.id), String(j.revoked_at), r.target, r.value, r.revokedBy, r.reason];
  });
  const all = [['id', 'revoked_at', 'target', 'value', 'revoked_by', 'reason'], ...rows];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  return all
    .map(
      (row) =>
        `${row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}
