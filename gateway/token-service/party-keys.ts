import { loadFileKeySet } from '../pipeline/1-authenticate/file-key-set.ts';
import type { KeySet } from '../pipeline/1-authenticate/key-set.ts';
import { RemoteKeySet } from '../pipeline/1-authenticate/remote-key-set.ts';

type JwksSource = { file: string } | { url: string; refresh_seconds: number; timeout_ms: number };

/**
 * The public keys of an identity provider or an agent, loaded exactly as the proxy loads an issuer's:
 * a file read once at start, or a URL refreshed in the background with the last good set kept.
 */
export function loadPartyKeys(owner: string, jwks: JwksSource, now: () => number): Promise<KeySet> {
  if ('file' in jwks) return loadFileKeySet(owner, jwks.file);
  return RemoteKeySet.start({
    issuer: owner,
    url: jwks.url,
    refreshSeconds: jwks.refresh_seconds,
    timeoutMs: jwks.timeout_ms,
    now,
    onKeysRemoved: () => {},
  });
}
