import { ConfigError, loadConfig } from '../config/load.ts';

/**
 * `mandate check-config FILE` — validates with the same loader `serve` uses and reports every
 * problem with its path. Exit codes: 0 valid, 1 invalid, 2 usage or unreadable file.
 */
export async function run(args: string[]): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1) {
    process.stderr.write('usage: mandate check-config FILE\n');
    return 2;
  }
  try {
    const config = loadConfig(file);
    process.stdout.write(
      `${file}: ok (${config.issuers.length} issuer(s), ${config.backends.length} backend(s), ${config.routes.length} route(s))\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    process.stderr.write(`${file}: ${(e as Error).message}\n`);
    return 2;
  }
}
