/**
 * `mandate audit rotate-checkpoint-key --config routes.yaml` (or `--key-dir DIR`): replaces the
 * checkpoint signing key. The new public key is added to public-keys.json, the old one stays there
 * (marked `retired`) so earlier checkpoints still verify, and the old private key is deleted. A
 * running gateway signs with the new key from its next checkpoint. Give auditors the new
 * public-keys.json.
 *
 * Exit codes: 0 rotated; 1 the key folder cannot be read or written; 2 usage error.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { PUBLIC_KEYS_FILE, rotateSigningKey } from '../pipeline/6-audit/checkpoint-keys.ts';

const usage = 'usage: mandate audit rotate-checkpoint-key --config routes.yaml | --key-dir DIR';

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let values: { config?: string; 'key-dir'?: string };
  try {
    values = parseArgs({ args, options: { config: { type: 'string' }, 'key-dir': { type: 'string' } } }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  if ((values.config === undefined) === (values['key-dir'] === undefined)) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  try {
    const dir = values['key-dir'] ?? loadConfig(values.config!).gateway.audit_checkpoint.key_dir;
    const { retired, current } = rotateSigningKey(dir);
    process.stdout.write(
      `rotated: checkpoints are now signed by ${current}; ${retired} retired (kept in ${dir}/${PUBLIC_KEYS_FILE})\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`cannot rotate the checkpoint key: ${(error as Error).message}\n`);
    return 1;
  }
}
