import { chainFiles } from '../pipeline/6-audit/segments.ts';
import { type AuditVerdict, verifyAudit } from '../pipeline/6-audit/verify-audit.ts';

/** The last verification of the audit database, and when it finished. */
export interface VerifyStatus {
  readonly verdict: AuditVerdict;
  readonly checkedAt: Date;
}

const running = new Map<string, Promise<VerifyStatus>>();

/**
 * Verifies the audit database `file` with `mandate audit verify`'s own function. Single-flight per
 * file: while one verification runs, every request awaits it rather than starting another (a full
 * verification reads the whole chain).
 */
export function verifyNow(file: string, now: () => number): Promise<VerifyStatus> {
  let pending = running.get(file);
  if (pending === undefined) {
    pending = verifyAudit({ files: chainFiles(file) })
      .then((verdict) => ({ verdict, checkedAt: new Date(now()) }))
      .finally(() => running.delete(file));
    running.set(file, pending);
  }
  return pending;
}
