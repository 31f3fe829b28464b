import type { AdminRole } from '../config/schema.ts';
import { MandateError } from '../errors.ts';
import type { AdminKeyring, AdminPrincipal } from './admin-keyring.ts';

export type { AdminPrincipal } from './admin-keyring.ts';

/** What admin authentication needs of a request: Node's `req.rawHeaders`, duplicates preserved. */
export interface AdminCredentialSource {
  readonly rawHeaders: readonly string[];
}

/**
 * Authenticates a call to the gateway's own admin or auditor endpoints: exactly one
 * `Authorization: Bearer <admin key>`, a key configured under `admin.keys`, holding `role`.
 *
 * Throws MANDATE_ADMIN_DISABLED (404) when routes.yaml has no `admin` section,
 * MANDATE_ADMIN_UNAUTHENTICATED (401) for a missing, duplicated or unknown key, and
 * MANDATE_ADMIN_FORBIDDEN (403) for a known key without the role. A key holds exactly its listed
 * roles: `admin` does not imply `auditor`.
 */
export function authenticateAdmin(
  gw: { readonly adminKeys: AdminKeyring | undefined },
  req: AdminCredentialSource,
  role: AdminRole,
): AdminPrincipal {
  if (gw.adminKeys === undefined) throw new MandateError('MANDATE_ADMIN_DISABLED');
  const principal = gw.adminKeys.identify(presentedKey(req));
  if (principal === undefined) throw new MandateError('MANDATE_ADMIN_UNAUTHENTICATED', 'admin API key not recognised');
  if (!principal.roles.includes(role)) {
    throw new MandateError('MANDATE_ADMIN_FORBIDDEN', `this endpoint requires the ${role} role`);
  }
  return principal;
}

/** The bearer value of the one Authorization header; two headers are refused, never chosen between. */
function presentedKey(req: AdminCredentialSource): string {
  let authorization: string | undefined;
  const headers = req.rawHeaders;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== 'authorization') continue;
    if (authorization !== undefined) {
      throw new MandateError('MANDATE_ADMIN_UNAUTHENTICATED', 'more than one Authorization header');
    }
    authorization = headers[i + 1] as string;
  }
  // credentials = auth-scheme [ 1*SP token68 ]; the scheme is case-insensitive (RFC 9110 §11.1).
  const match = /^([^ ]+) +(\S+)$/.exec((authorization ?? '').trim());
  if (match?.[1]?.toLowerCase() !== 'bearer') {
    throw new MandateError('MANDATE_ADMIN_UNAUTHENTICATED', 'an Authorization: Bearer admin API key is required');
  }
  return match[2] as string;
}
