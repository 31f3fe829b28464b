import { wellKnownPath } from '../resource-metadata/protected-resources.ts';
import { LOOPBACK } from './loopback.ts';
import type { RawConfig } from './schema.ts';

/**
 * Cross-checks of backends' `resource_metadata` (RFC 9728), with their paths. A client builds the
 * metadata URL from the resource identifier and must refuse a document whose `resource` differs from
 * it (§3.3), and the identifier is the token's audience (RFC 8707): so the backend's `audience` must be
 * the absolute URL agents reach it at through the gateway, in the form a client would write it.
 */
export function crossCheckResourceMetadata(config: RawConfig): string[] {
  const problems: string[] = [];
  const served = new Map<string, number>();
  config.backends.forEach((b, i) => {
    if (!b.resource_metadata) return;
    const at = `backends[${i}]`;
    const url = URL.parse(b.audience);
    if (url === null || !isResourceIdentifier(url, b.audience)) {
      problems.push(
        `${at}.audience: with resource_metadata, the audience must be the backend's URL on the gateway (https, or http on a loopback host; lower-case scheme and host; no query, fragment or user info), e.g. https://gateway.example.com/procurement`,
      );
      return;
    }
    const path = wellKnownPath(url);
    const first = served.get(path);
    if (first !== undefined) problems.push(`${at}.audience: backends[${first}] already has metadata at ${path}`);
    else served.set(path, i);
    if (!b.resource_metadata.authorization_servers && !config.token_service) {
      problems.push(
        `${at}.resource_metadata.authorization_servers: required without a token_service (the default authorization server)`,
      );
    }
  });
  return problems;
}

function isResourceIdentifier(url: URL, written: string): boolean {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return false;
  if (url.username || url.password || url.search || url.hash) return false;
  // As parsed: nothing normalised away (case, default port, percent-encoding, dot segments).
  return written === `${url.origin}${url.pathname}` || (url.pathname === '/' && written === url.origin);
}
