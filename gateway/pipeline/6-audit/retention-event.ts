import { newTraceId } from '../../telemetry/trace-context.ts';
import type { AuditEvent } from './event.ts';
import { gatewayEvent } from './gateway-event.ts';

/** What retention removed: one sealed segment, and why. */
export interface Removal {
  /** The segment's file name (no folder). */
  readonly segment: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Hash of the segment's last row: the chain after the removal starts from it. */
  readonly lastHash: string;
  /** Time of the segment's newest event. */
  readonly lastTime: string | null;
  readonly bytes: number;
  readonly rule: 'max_age_seconds' | 'max_total_bytes';
  /** Where it was moved, or null when it was deleted. */
  readonly archivedTo: string | null;
}

/**
 * The audit event of one retention removal (kind `retention`), appended to the chain before the file
 * goes. It is what lets `verify` tell "removed by retention, recorded" from "missing": the oldest file
 * left must start exactly after `last_seq`, at `last_hash`.
 */
export function retentionEvent(removal: Removal, now: Date): AuditEvent {
  const origin = { correlationId: newTraceId(), method: 'INTERNAL', path: 'audit retention', status: null };
  return gatewayEvent(
    'retention',
    now.getTime(),
    origin,
    {},
    {
      segment: removal.segment,
      first_seq: removal.firstSeq,
      last_seq: removal.lastSeq,
      last_hash: removal.lastHash,
      last_time: removal.lastTime,
      bytes: removal.bytes,
      rule: removal.rule,
      archived_to: removal.archivedTo,
    },
  );
}
