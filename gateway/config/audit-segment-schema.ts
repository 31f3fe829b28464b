import { z } from 'zod';

/**
 * `gateway.audit_segment.retention`: which sealed segments to remove, oldest first (README
 * "Segments and retention"). The active file is never removed, and every removal is an audit event
 * (kind `retention`) in the chain, recorded before the file goes.
 */
const retentionSchema = z
  .strictObject({
    /** Remove a sealed segment once its newest event is older than this. */
    max_age_seconds: z.number().int().min(1).optional(),
    /** Remove the oldest sealed segments while all audit files together (active included) exceed this. */
    max_total_bytes: z.number().int().min(65_536).optional(),
    /** Move removed segments into this folder instead of deleting them. */
    archive_dir: z.string().min(1).optional(),
  })
  .refine((r) => r.max_age_seconds !== undefined || r.max_total_bytes !== undefined, {
    message: 'give max_age_seconds, max_total_bytes or both',
  });

/**
 * `gateway.audit_segment`: rotation of the active audit database into sealed, read-only segment files
 * next to it (`audit-<first seq>-<last seq>.db`), whose chain the new active file continues. Absent:
 * one file that grows for ever.
 */
export const auditSegmentSchema = z
  .strictObject({
    /** Rotate once the active database is larger than this (bytes, SQLite pages in use). */
    max_bytes: z.number().int().min(65_536).optional(),
    /** Rotate once the active database's first event is older than this. */
    max_age_seconds: z.number().int().min(1).optional(),
    retention: retentionSchema.optional(),
  })
  .refine((s) => s.max_bytes !== undefined || s.max_age_seconds !== undefined, {
    message: 'give max_bytes, max_age_seconds or both',
  })
  .optional();

export type AuditSegmentConfig = z.infer<typeof auditSegmentSchema>;
