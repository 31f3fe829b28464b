import type { AgentConfig } from '../config/token-service-schema.ts';
import type { KeySet } from '../pipeline/1-authenticate/key-set.ts';

/** An agent from routes.yaml `agents[]`, with its loaded public keys. */
export interface RegisteredAgent {
  readonly config: AgentConfig;
  readonly keys: KeySet;
}
