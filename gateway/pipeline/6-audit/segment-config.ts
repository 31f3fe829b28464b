import type { Config } from '../../config/load.ts';
import type { SegmentOptions } from './segment-rotation.ts';

/** routes.yaml's `gateway.audit_segment` (snake_case) as the rotation's options; undefined: no rotation. */
export function auditSegmentOptions(config: Config): SegmentOptions | undefined {
  const s = config.gateway.audit_segment;
  if (s === undefined) return undefined;
  const r = s.retention;
  return {
    ...(s.max_bytes === undefined ? {} : { maxBytes: s.max_bytes }),
    ...(s.max_age_seconds === undefined ? {} : { maxAgeSeconds: s.max_age_seconds }),
    ...(r === undefined
      ? {}
      : {
          retention: {
            ...(r.max_age_seconds === undefined ? {} : { maxAgeSeconds: r.max_age_seconds }),
            ...(r.max_total_bytes === undefined ? {} : { maxTotalBytes: r.max_total_bytes }),
            ...(r.archive_dir === undefined ? {} : { archiveDir: r.archive_dir }),
          },
        }),
  };
}
