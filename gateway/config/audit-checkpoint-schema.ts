import { z } from 'zod';

/** `gateway.audit_checkpoint` defaults: also the section's value when routes.yaml leaves it out. */
export const auditCheckpointDefaults = {
  every_events: 1000,
  every_seconds: 60,
  key_dir: './data/audit-keys',
  file: './data/audit-checkpoints.jsonl',
};

/**
 * `gateway.audit_checkpoint`: signed checkpoints of the audit chain's head (README "Checkpoints").
 * A checkpoint is written once `every_events` events were committed since the last one, every
 * `every_seconds` in any case (a heartbeat), and when the gateway stops.
 */
export const auditCheckpointSchema = z
  .strictObject({
    every_events: z.number().int().min(1).max(10_000_000).default(auditCheckpointDefaults.every_events),
    every_seconds: z.number().int().min(1).max(86_400).default(auditCheckpointDefaults.every_seconds),
    /** Folder of the Ed25519 signing key (created on first run, mode 0600) and public-keys.json. */
    key_dir: z.string().min(1).default(auditCheckpointDefaults.key_dir),
    /** The checkpoint file (JSON Lines): put it on storage the gateway's database writer cannot rewrite. */
    file: z.string().min(1).default(auditCheckpointDefaults.file),
  })
  .default(auditCheckpointDefaults);
