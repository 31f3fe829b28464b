import type { IncomingMessage } from 'node:http';
import { readBoundedBody } from '../read-bounded-body.ts';
import { OAuthError } from './oauth-error.ts';

/** Largest token request body accepted: three tokens plus parameters fit many times over. */
const MAX_BODY_BYTES = 64 * 1024;

/** Parameters that RFC 8693 §2.1 and RFC 8707 §2 allow more than once. */
const REPEATABLE = new Set(['resource', 'audience']);

/** The token request's form parameters: single values, plus the repeatable ones as lists. */
export interface TokenForm {
  readonly single: ReadonlyMap<string, string>;
  readonly resource: readonly string[];
  readonly audience: readonly string[];
}

/**
 * Reads an `application/x-www-form-urlencoded` POST body (RFC 8693 §2.1). A parameter sent twice is
 * refused (RFC 6749 §3.1), except `resource` and `audience` (RFC 8693 §2.1), as is an empty value.
 */
export async function readTokenForm(req: IncomingMessage): Promise<TokenForm> {
  if (req.method !== 'POST') throw new OAuthError('invalid_request', 'request.method_not_post');
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new OAuthError('invalid_request', 'request.content_type');
  const body = await readBoundedBody(req, {
    maxBytes: MAX_BODY_BYTES,
    tooLarge: () => new OAuthError('invalid_request', 'request.too_large'),
  });
  const params = new URLSearchParams(body.toString('utf8'));
  const single = new Map<string, string>();
  const lists = { resource: [] as string[], audience: [] as string[] };
  for (const [name, value] of params) {
    if (value === '') throw new OAuthError('invalid_request', 'request.empty_parameter');
    if (REPEATABLE.has(name)) lists[name as 'resource' | 'audience'].push(value);
    else if (single.has(name)) throw new OAuthError('invalid_request', 'request.repeated_parameter');
    else single.set(name, value);
  }
  return { single, ...lists };
}
