import { MandateError } from '../../errors.ts';
import type { Principal } from './principal.ts';

/**
 * RFC 9068 §4 step 4 / RFC 8725 §3.9: the token must name the backend it is used at. Separate from
 * `authenticate` because the backend (and so the expected audience) is known only once the route is
 * resolved; it runs on every request, cached principal or not. Exact string comparison.
 */
export function assertAudience(principal: Principal, audience: string): void {
  if (!principal.audience.includes(audience)) {
    throw new MandateError('MANDATE_AUTHN_AUDIENCE_MISMATCH', 'token aud does not include this backend');
  }
}
