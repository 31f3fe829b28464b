import type { Config } from '../../config/load.ts';
import type { CheckpointOptions } from './checkpointer.ts';

/** routes.yaml's `gateway.audit_checkpoint` (snake_case) as the checkpointer's options. */
export function auditCheckpointOptions(config: Config): CheckpointOptions {
  const c = config.gateway.audit_checkpoint;
  return { everyEvents: c.every_events, everySeconds: c.every_seconds, keyDir: c.key_dir, file: c.file };
}
