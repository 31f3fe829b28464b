/**
 * `mandate audit export --db FILE [--from-seq N] [--since ISO] [--until ISO] > events.jsonl`: the audit
 * rows as JSON Lines, each with its `prev_hash` and `hash`, for a SIEM or an auditor to re-verify
 * independently (README "Export").
 *
 * Exit codes: 0 success (also when nothing matches); 2 usage error, or the file cannot be read.
 *
 * @module
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { type ExportRange, exportEvents } from '../pipeline/6-audit/export.ts';
import { chainFiles } from '../pipeline/6-audit/segments.ts';

const usage = 'usage: mandate audit export --db FILE [--from-seq N] [--since ISO] [--until ISO]';

/** Runs the command; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let values: { db?: string; 'from-seq'?: string; since?: string; until?: string };
  try {
    values = parseArgs({
      args,
      options: {
        db: { type: 'string' },
        'from-seq': { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const fromSeq = values['from-seq'] === undefined ? undefined : Number(values['from-seq']);
  const badTime = [values.since, values.until].some((t) => t !== undefined && Number.isNaN(Date.parse(t)));
  if (values.db === undefined || (fromSeq !== undefined && !Number.isSafeInteger(fromSeq)) || badTime) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const range: ExportRange = {
    ...(fromSeq === undefined ? {} : { fromSeq }),
    ...(values.since === undefined ? {} : { since: values.since }),
    ...(values.until === undefined ? {} : { until: values.until }),
  };
  try {
    // The sealed segments next to the database too, in chain order: one chain in the output.
    for (const chunk of exportEvents(chainFiles(values.db), range)) {
      if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    }
  } catch (error) {
    process.stderr.write(`cannot export ${values.db}: ${(error as Error).message}\n`);
    return 2;
  }
  return 0;
}
