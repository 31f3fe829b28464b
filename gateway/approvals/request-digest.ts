import { createHash } from 'node:crypto';

/**
 * What an approval is bound to: hex SHA-256 over `method + "\n" + target + "\n" + body`, where target
 * is the canonical path with its query string and body the exact bytes forwarded (empty for a route
 * that does not buffer its body). The newlines cannot occur in a method or a canonical target, so no
 * two requests share an input.
 */
export function requestDigest(method: string, target: string, body: Buffer | undefined): string {
  const hash = createHash('sha256').update(`${method}\n${target}\n`);
  if (body !== undefined) hash.update(body);
  return hash.digest('hex');
}
