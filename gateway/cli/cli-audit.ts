import { MandateError } from '../errors.ts';
import type { AuditEvent } from '../pipeline/6-audit/event.ts';
import type { EventOrigin } from '../pipeline/6-audit/gateway-event.ts';
import { AuditStore } from '../pipeline/6-audit/store.ts';
import { newTraceId } from '../telemetry/trace-context.ts';

/**
 * The origin of an event a `mandate …` command records (`mandate revoke`, `mandate task suspend`):
 * method `CLI`, the command as its path, a fresh trace id, and no status (nothing is answered over HTTP).
 */
export function cliOrigin(command: string): EventOrigin {
  return { correlationId: newTraceId(), method: 'CLI', path: command, status: null };
}

/**
 * Appends one event to the audit file from a command, which runs beside any gateway on the same file
 * (the store serialises writers across processes). Returns why it could not, for the command's
 * message, or undefined once the event is committed.
 */
export function appendFromCli(auditDb: string, event: AuditEvent): string | undefined {
  try {
    const audit = AuditStore.open(auditDb);
    try {
      audit.append(event);
    } finally {
      audit.close();
    }
    return undefined;
  } catch (e) {
    return e instanceof MandateError && e.cause instanceof Error ? e.cause.message : (e as Error).message;
  }
}
