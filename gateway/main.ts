#!/usr/bin/env node
/**
 * `mandate` — the command line. Each subcommand lives in gateway/cli/ and returns its exit code.
 *
 *   mandate serve --config routes.yaml [--port N] [--demo]
 *   mandate check-config routes.yaml
 *   mandate audit verify --db FILE
 *   mandate audit query --db FILE [filters] [--format table|json|csv]
 *   mandate token mint --config routes.yaml --sub USER --agent AGENT --aud AUDIENCE [...]
 */
const commands: Record<string, () => Promise<{ run(args: string[]): Promise<number> }>> = {
  serve: () => import('./cli/serve.ts'),
  'check-config': () => import('./cli/check-config.ts'),
  'audit verify': () => import('./cli/audit-verify.ts'),
  'audit query': () => import('./cli/audit-query.ts'),
  'token mint': () => import('./cli/token-mint.ts'),
};

const usage = `usage: mandate <command> [options]
  serve --config routes.yaml [--port N] [--demo]   run the gateway
  check-config routes.yaml                          validate a configuration, reporting every error
  audit verify --db FILE                            recompute the audit hash chain
  audit query --db FILE [filters] [--format F]      search the audit trail
  token mint --config routes.yaml --sub U ...       sign a development delegation token`;

const argv = process.argv.slice(2);
const two = `${argv[0]} ${argv[1]}`;
const [name, rest] = two in commands ? [two, argv.slice(2)] : [argv[0] ?? '', argv.slice(1)];
const load = commands[name];
if (!load) {
  process.stderr.write(`${usage}\n`);
  process.exitCode = 2;
} else {
  process.exitCode = await (await load()).run(rest);
}
