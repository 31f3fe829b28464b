/**
 * `mandate audit verify --db FILE [--checkpoints FILE] [--keys FILE] [--archive DIR]`, or
 * `mandate audit verify --config routes.yaml` (all three from gateway.audit_db and
 * gateway.audit_checkpoint): recomputes the hash chain — across the sealed segments next to the
 * database (audit-<first>-<last>.db), with `--archive` those retention moved to DIR too, and the
 * database itself — checks every checkpoint's signature,
 * and compares the chain with the checkpoints —
 * detecting tail truncation when given the external checkpoint file. Prints one result line, and
 * `warning:` lines on stderr for what it could not check.
 *
 * Exit codes (README "Verify"):
 * - 0: intact;
 * - 1: the chain is broken — the line names the first bad seq and what is wrong with it;
 * - 2: usage error, or a file cannot be read;
 * - 3: a checkpoint is malformed, signed by an unknown key, or its signature is invalid;
 * - 4: truncated — a signed checkpoint covers rows that are gone;
 * - 5: diverged — the audit disagrees with a signed checkpoint (chain rewritten, checkpoint rows deleted).
 *
 * @module
 */
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { PUBLIC_KEYS_FILE } from '../pipeline/6-audit/checkpoint-keys.ts';
import { chainFiles } from '../pipeline/6-audit/segments.ts';
import { type AuditStatus, type AuditVerdict, verifyAudit } from '../pipeline/6-audit/verify-audit.ts';

const usage =
  'usage: mandate audit verify --db FILE [--checkpoints FILE] [--keys FILE] [--archive DIR] | --config routes.yaml [--archive DIR]';

const exitCodes: Record<AuditStatus, number> = { intact: 0, broken: 1, bad_checkpoint: 3, truncated: 4, diverged: 5 };
const labels: Record<AuditStatus, string> = {
  intact: 'OK',
  broken: 'BROKEN',
  bad_checkpoint: 'BAD CHECKPOINT',
  truncated: 'TRUNCATED',
  diverged: 'DIVERGED',
};

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let values: { db?: string; checkpoints?: string; keys?: string; config?: string; archive?: string };
  try {
    values = parseArgs({
      args,
      options: {
        db: { type: 'string' },
        checkpoints: { type: 'string' },
        keys: { type: 'string' },
        config: { type: 'string' },
        archive: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  let verdict: AuditVerdict;
  let db: string | undefined;
  try {
    if (values.config !== undefined) {
      const { gateway } = loadConfig(values.config);
      values.db ??= gateway.audit_db;
      values.checkpoints ??= gateway.audit_checkpoint.file;
      values.keys ??= join(gateway.audit_checkpoint.key_dir, PUBLIC_KEYS_FILE);
    }
    db = values.db;
    if (db === undefined) {
      process.stderr.write(`${usage}\n`);
      return 2;
    }
    // The sealed segments next to it (segments.ts) and in the archive, in chain order, then the database.
    const archive = values.archive;
    const files = chainFiles(db, archive);
    verdict = await verifyAudit({
      files,
      ...(archive === undefined
        ? {}
        : { archived: new Set(files.filter((f) => resolve(dirname(f)) === resolve(archive))) }),
      ...(values.keys === undefined ? {} : { keysFile: values.keys }),
      ...(values.checkpoints === undefined ? {} : { checkpointsFile: values.checkpoints }),
    });
  } catch (error) {
    process.stderr.write(`cannot read the audit trail (${db ?? values.config}): ${(error as Error).message}\n`);
    return 2;
  }
  for (const warning of verdict.warnings) process.stderr.write(`warning: ${warning}\n`);
  if (verdict.status === 'intact') {
    const retained = verdict.retained
      ? `, seqs 1–${verdict.retained.lastSeq} removed by retention (recorded at seq ${verdict.retained.recordedAt})`
      : '';
    const archived = verdict.archived
      ? `, ${verdict.archived.files} archived segment(s) up to seq ${verdict.archived.lastSeq} included`
      : '';
    process.stdout.write(
      `OK: audit chain intact, ${verdict.events} events up to seq ${verdict.head.seq}, ${verdict.checkpoints} checkpoints verified${retained}${archived} (${db})\n`,
    );
  } else {
    process.stdout.write(
      `${labels[verdict.status]}${verdict.firstBadSeq === undefined ? '' : ` at seq ${verdict.firstBadSeq}`}: ${verdict.problem}; ${verdict.events} events intact before it (${db})\n`,
    );
  }
  return exitCodes[verdict.status];
}
