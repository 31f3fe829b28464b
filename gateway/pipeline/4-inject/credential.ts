import type { BackendConfig } from '../../config/schema.ts';
import { readSecret, Secret } from './secret.ts';

/** The backend's own service credential, as the header that carries it. */
export interface ServiceCredential {
  /** The credential's name from routes.yaml: what the audit records instead of the value. */
  readonly name: string;
  /** Lower-case header name, e.g. authorization or x-api-key; undefined for type none. */
  readonly header: string | undefined;
  readonly value: Secret | undefined;
}

/**
 * Resolves a backend's credential once, at start-up, so a missing secret stops the gateway from
 * starting instead of failing requests one by one.
 */
export function loadServiceCredential(backend: BackendConfig): ServiceCredential {
  const c = backend.credential;
  switch (c.type) {
    case 'bearer':
      return { name: c.name, header: 'authorization', value: new Secret(`Bearer ${readSecret(c.secret).reveal()}`) };
    case 'header':
      return { name: c.name, header: c.header.toLowerCase(), value: readSecret(c.secret) };
    case 'basic': {
      const pair = Buffer.from(`${c.username}:${readSecret(c.secret).reveal()}`).toString('base64');
      return { name: c.name, header: 'authorization', value: new Secret(`Basic ${pair}`) };
    }
    case 'none':
      return { name: c.name, header: undefined, value: undefined };
  }
}
