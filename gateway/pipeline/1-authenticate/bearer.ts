import { MandateError } from '../../errors.ts';

/** The parts of an incoming request that carry credentials. */
export interface CredentialSource {
  /** Node's `req.rawHeaders`: name, value, name, value… with duplicates preserved. */
  readonly rawHeaders: readonly string[];
  /** The request-target as received (path and query); Node's `req.url`. */
  readonly url?: string | undefined;
}

/**
 * Returns the one bearer token of a request (RFC 6750 §2.1), refusing every other way of presenting one.
 *
 * `rawHeaders` is used because Node keeps only the first `Authorization` in `req.headers`: two
 * credentials must be an error, not a silent choice. A non-Bearer scheme (Basic, DPoP, …) or an empty
 * header is MANDATE_AUTHN_CREDENTIAL_MISSING (no bearer credential was presented); `Bearer` followed by
 * anything but one token is MANDATE_AUTHN_TOKEN_MALFORMED. The size cap applies here, before the token
 * is hashed or parsed.
 */
export function extractBearer(request: CredentialSource, maxBytes: number): string {
  // RFC 6750 §2.2-2.3 methods are not accepted: query strings end up in logs and caches, cookies
  // make every request ambient-authority (CSRF). Refuse rather than ignore, so the client learns.
  if (hasAccessTokenParameter(request.url ?? '')) throw new MandateError('MANDATE_AUTHN_CREDENTIAL_IN_QUERY');
  let authorization: string | undefined;
  const headers = request.rawHeaders;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    if (name === 'cookie') throw new MandateError('MANDATE_AUTHN_CREDENTIAL_IN_COOKIE');
    if (name !== 'authorization') continue;
    if (authorization !== undefined) throw new MandateError('MANDATE_AUTHN_CREDENTIAL_DUPLICATED');
    authorization = headers[i + 1] as string;
  }
  if (authorization === undefined) throw new MandateError('MANDATE_AUTHN_CREDENTIAL_MISSING');

  // credentials = auth-scheme [ 1*SP token68 ]; the scheme is case-insensitive (RFC 9110 §11.1).
  const match = /^([^ ]+)(?: +(.*))?$/s.exec(authorization.trim());
  if (match?.[1]?.toLowerCase() !== 'bearer') {
    throw new MandateError('MANDATE_AUTHN_CREDENTIAL_MISSING', 'an Authorization: Bearer credential is required');
  }
  const token = match[2] ?? '';
  if (token.length > maxBytes) throw new MandateError('MANDATE_AUTHN_TOKEN_TOO_LARGE');
  if (token === '') throw new MandateError('MANDATE_AUTHN_TOKEN_MALFORMED', 'empty bearer token');
  return token;
}

/** True when the query has an `access_token` parameter, in any case or percent-encoding. */
function hasAccessTokenParameter(url: string): boolean {
  const start = url.indexOf('?');
  if (start === -1) return false;
  // `;` is a separator for some backends' query parsers, so it counts as one here too.
  for (const pair of url.slice(start + 1).split(/[&;]/)) {
    const end = pair.indexOf('=');
    const raw = (end === -1 ? pair : pair.slice(0, end)).replaceAll('+', ' ');
    let name = raw;
    try {
      name = decodeURIComponent(raw);
    } catch {
      // Malformed percent-encoding: compare the raw name.
    }
    if (name.trim().toLowerCase() === 'access_token') return true;
  }
  return false;
}
