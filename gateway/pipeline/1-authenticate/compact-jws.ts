import { MandateError } from '../../errors.ts';
import { parseJsonObject } from '../../strict-json.ts';

// RFC 8725bis: only A-Z a-z 0-9 - _ and exactly two dots. Also rules out JWE (five parts), JSON
// serialization (braces, quotes) and the unsecured form with its empty signature.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Checks the compact form, then decodes the protected header (MANDATE_AUTHN_TOKEN_MALFORMED). */
export function decodeHeader(token: string): Readonly<Record<string, unknown>> {
  if (!COMPACT_JWS.test(token)) throw new MandateError('MANDATE_AUTHN_TOKEN_MALFORMED', 'not a compact JWS');
  return decodePart(token.slice(0, token.indexOf('.')), 'protected header');
}

/** Decodes the claims set of a token that passed `decodeHeader`. Unverified: only to select the issuer. */
export function decodeUnverifiedClaims(token: string): Readonly<Record<string, unknown>> {
  const start = token.indexOf('.') + 1;
  return decodePart(token.slice(start, token.indexOf('.', start)), 'claims set');
}

function decodePart(segment: string, what: string): Readonly<Record<string, unknown>> {
  const value = parseJsonObject(Buffer.from(segment, 'base64url'));
  if (!value) throw new MandateError('MANDATE_AUTHN_TOKEN_MALFORMED', `${what} is not a JSON object`);
  return value;
}
