import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BodyAttributesConfig } from '../../config/request-attributes-schema.ts';
import { MandateError } from '../../errors.ts';
import { readBoundedBody } from '../../read-bounded-body.ts';
import { parseStrictJson } from '../../strict-json.ts';
import { isExactNumber } from './exact-number.ts';

/** The body of a route that reads it (routes.yaml `body:`): judged by policy, then forwarded unchanged. */
export interface RequestBody {
  /** Exactly the bytes received: what the policy judged, what an approval digest covers, what is forwarded. */
  readonly bytes: Buffer;
  /** Hex SHA-256 of `bytes`, for the audit events of the call. */
  readonly sha256: string;
  /** The parsed body: always a JSON object. */
  readonly json: Readonly<Record<string, unknown>>;
  /** The route's `body.fields`, each its value or null when absent: `input.request.body`. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * Reads the body of a route that asks for it, within its bound; undefined for every other route,
 * whose body is streamed to the backend untouched. Runs after authentication, so only a verified
 * token can make the gateway hold a body in memory.
 *
 * @throws MandateError
 *   MANDATE_BODY_UNSUPPORTED_MEDIA_TYPE (415): not `application/json` (or `+json`, charset utf-8 if
 *   any), or a Content-Encoding: the policy must judge the bytes the backend will read, not a
 *   compressed form of them.
 *   MANDATE_BODY_TOO_LARGE (413): over `max_bytes`, refused on Content-Length before reading anything,
 *   or as soon as a chunked body crosses the bound; the rest is discarded and the connection closed.
 *   MANDATE_BODY_INVALID_JSON (400): not UTF-8, not JSON, or not an object.
 *   MANDATE_BODY_DUPLICATE_KEY (400): a member name twice in one object, at any depth.
 *   MANDATE_BODY_NUMBER_IMPRECISE (400): a number in a field the policy reads that a double cannot hold
 *   exactly (`5000.0000000000001`, `1e400`): the policy would compare another number than the backend.
 *   MANDATE_CLIENT_ABORTED (499): the agent closed the connection before the body ended.
 */
export async function readRequestBody(
  req: IncomingMessage,
  spec: BodyAttributesConfig | undefined,
): Promise<RequestBody | undefined> {
  if (spec === undefined) return undefined;
  assertJsonMediaType(req);
  const bytes = await readBoundedBody(req, {
    maxBytes: spec.max_bytes,
    tooLarge: () => new MandateError('MANDATE_BODY_TOO_LARGE', `this route reads at most ${spec.max_bytes} bytes`),
    aborted: () => new MandateError('MANDATE_CLIENT_ABORTED', 'the request body did not arrive in full'),
  });

  const imprecise = new WeakMap<object, Set<string>>();
  const parsed = parseStrictJson(bytes, function (key, value, context) {
    if (typeof value === 'number' && !isExactNumber(value, context.source)) {
      const keys = imprecise.get(this as object) ?? new Set<string>();
      imprecise.set(this as object, keys.add(key));
    }
    return value;
  });
  if (!parsed.ok) {
    throw parsed.failure === 'duplicate_member'
      ? new MandateError('MANDATE_BODY_DUPLICATE_KEY', 'a JSON member name appears twice in one object')
      : new MandateError('MANDATE_BODY_INVALID_JSON', 'the body is not valid UTF-8 JSON');
  }
  const json = parsed.value;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MandateError('MANDATE_BODY_INVALID_JSON', 'the body must be a JSON object');
  }
  const object = json as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const name of spec.fields) {
    if (!Object.hasOwn(object, name)) {
      fields[name] = null;
      continue;
    }
    if (holdsImprecise(imprecise, object, name)) {
      throw new MandateError(
        'MANDATE_BODY_NUMBER_IMPRECISE',
        `field "${name}" holds a number a double cannot represent`,
      );
    }
    fields[name] = object[name];
  }
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), json: object, fields };
}

const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json$/;

function assertJsonMediaType(req: IncomingMessage): void {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new MandateError('MANDATE_BODY_UNSUPPORTED_MEDIA_TYPE', 'a Content-Encoding is not accepted on this route');
  }
  // RFC 9110 §8.3.1: type and parameter names are case-insensitive; JSON is UTF-8 (RFC 8259 §8.1).
  const [type = '', ...parameters] = (req.headers['content-type'] ?? '').toLowerCase().split(';');
  const charset = parameters.map((p) => p.trim()).find((p) => p.startsWith('charset='));
  const utf8 = charset === undefined || /^charset="?utf-8"?$/.test(charset);
  if (!JSON_MEDIA_TYPE.test(type.trim()) || !utf8) {
    throw new MandateError('MANDATE_BODY_UNSUPPORTED_MEDIA_TYPE', 'this route reads application/json (UTF-8)');
  }
}

/** True when `holder[key]`, or any number nested in it, was written with more precision than a double keeps. */
function holdsImprecise(imprecise: WeakMap<object, Set<string>>, holder: object, key: string): boolean {
  if (imprecise.get(holder)?.has(key)) return true;
  const value = (holder as Record<string, unknown>)[key];
  if (typeof value !== 'object' || value === null) return false;
  return Object.keys(value).some((k) => holdsImprecise(imprecise, value, k));
}
