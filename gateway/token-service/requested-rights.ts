import { parseJsonObject } from '../strict-json.ts';
import { OAuthError } from './oauth-error.ts';
import type { Subject } from './subject-token.ts';

/**
 * The requested `scope` (RFC 6749 §3.3, space-separated) and `authorization_details` (RFC 9396 §2,
 * a JSON array of objects with a string `type`). A delegation presented again (re-delegation,
 * renewal) asks for what it carries when the request names nothing: the policy still intersects it.
 */
export function requestedRights(
  form: ReadonlyMap<string, string>,
  subject: Subject | null,
): { scopes: string[]; details: Record<string, unknown>[] } {
  const inherited = subject?.kind === 'delegation' ? subject.principal : undefined;
  const scope = form.get('scope');
  const scopes = scope === undefined ? [...(inherited?.scopes ?? [])] : [...new Set(scope.split(' ').filter((s) => s))];
  const raw = form.get('authorization_details');
  const details = raw === undefined ? [...(inherited?.authorizationDetails ?? [])] : parseDetails(raw);
  return { scopes, details: details as Record<string, unknown>[] };
}

function parseDetails(raw: string): unknown[] {
  // Wrapped so the strict parser (no duplicate members, UTF-8) accepts the top-level array.
  const parsed = parseJsonObject(Buffer.from(`{"d":${raw}}`, 'utf8'));
  const details = parsed?.d;
  const valid =
    Array.isArray(details) &&
    details.every((d) => typeof d === 'object' && d !== null && !Array.isArray(d) && typeof d.type === 'string');
  if (!valid) throw new OAuthError('invalid_authorization_details', 'details.malformed');
  return details;
}
