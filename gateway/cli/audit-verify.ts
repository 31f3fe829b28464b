/**
 * `mandate audit verify --db FILE`: recomputes the audit hash chain and prints a one-line result.
 *
 * Exit codes:
 * - 0: the chain is intact;
 * - 1: the chain is broken — the line names the first bad seq and what is wrong with it;
 * - 2: usage error, or the file cannot be read as an audit database.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { verifyChain } from '../pipeline/6-audit/verify.ts';

const usage = 'usage: mandate audit verify --db FILE';

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let db: string | undefined;
  try {
    db = parseArgs({ args, options: { db: { type: 'string' } }, strict: true }).values.db;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  if (db === undefined) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  let verdict: ReturnType<typeof verifyChain>;
  try {
    verdict = verifyChain(db);
  } catch (error) {
    process.stderr.write(`cannot read audit database ${db}: ${(error as Error).message}\n`);
    return 2;
  }
  if (verdict.ok) {
    process.stdout.write(`OK: audit chain intact, ${verdict.events} events (${db})\n`);
    return 0;
  }
  process.stdout.write(
    `BROKEN at seq ${verdict.firstBadSeq}: ${verdict.problem}; ${verdict.events} events intact before it (${db})\n`,
  );
  return 1;
}
