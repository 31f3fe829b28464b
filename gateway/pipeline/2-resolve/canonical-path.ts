import { MandateError } from '../../errors.ts';

/**
 * The request-target in its one canonical form. It is matched, authorized, audited and forwarded:
 * no other component re-parses the raw target (STANDARDS §7.2 GW-PATH (6): no "split view").
 */
export interface CanonicalTarget {
  /** Unreserved characters decoded, every remaining escape with upper-case hex; '/' for the root. */
  readonly path: string;
  /** Decoded segment values; [] for the root. Never empty strings, '.', '..', '/' or '\'. */
  readonly segments: readonly string[];
  /** '' or the validated query string including its '?', verbatim. */
  readonly query: string;
}

const SLASH = 0x2f;
const PERCENT = 0x25;
const HASH = 0x23;

const UNRESERVED = 1;
const PATH_RAW = 2;

/** RFC 3986 §2.3 unreserved, and the characters a path may carry unencoded (pchar minus ';'). */
const charClass = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') {
  charClass[c.charCodeAt(0)] = UNRESERVED | PATH_RAW;
}
// pchar (RFC 3986 §3.3) = unreserved / pct-encoded / sub-delims / ":" / "@". ';' is left out on
// purpose: servlet containers strip ";params" (CVE-2020-1957, CVE-2020-13933).
for (const c of "!$&'()*+,=:@") charClass[c.charCodeAt(0)] = PATH_RAW;

const hexValue = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  hexValue['0123456789abcdef'.charCodeAt(i)] = i;
  hexValue['0123456789ABCDEF'.charCodeAt(i)] = i;
}
const HEX_UPPER = '0123456789ABCDEF';

/** Escapes that stay ambiguous after decoding: the backend (or a framework in front of it) may act on them. */
const forbiddenEscapes = new Map<number, string>([
  [0x2f, 'encoded slash (%2F)'],
  [0x5c, 'encoded backslash (%5C)'],
  [0x25, 'double encoding (%25)'],
  [0x3b, 'encoded semicolon (%3B)'],
  // Traefik CVE-2025-66490: encoded '?' and '#' split the path differently downstream.
  [0x3f, 'encoded question mark (%3F)'],
  [0x23, 'encoded hash (%23)'],
]);

const ambiguous = (detail: string) => new MandateError('MANDATE_PATH_AMBIGUOUS', detail);
const malformed = (detail: string) => new MandateError('MANDATE_REQUEST_MALFORMED', detail);
const hex = (c: number) => `0x${c.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * Parses a raw request-target (`req.url`, never WHATWG `new URL`, which silently resolves `%2e%2e`
 * and turns `\` into `/`) into its canonical form, or refuses it. Nothing is "corrected" (RFC 9112 §3):
 *
 * - only origin-form; absolute-, authority- and asterisk-form → MANDATE_REQUEST_MALFORMED;
 * - raw characters outside pchar (non-ASCII, controls, space, `\ # " < > ;` …) → MANDATE_PATH_AMBIGUOUS;
 * - `%XX` of an unreserved character is decoded (RFC 3986 §6.2.2.2), other escapes get upper-case hex;
 *   escapes of `/ \ % ; ? #`, of controls and of any byte ≥ 0x80 (overlong / fullwidth slashes)
 *   → MANDATE_PATH_AMBIGUOUS;
 * - empty segments (`//`, and a trailing `/` after a non-root path) and `.`/`..` segments after
 *   decoding → MANDATE_PATH_AMBIGUOUS.
 *
 * A trailing slash is refused rather than stripped: `/a/` and `/a` are different resources to many
 * backends, and silently forwarding one for the other is the lenient-matcher split GW-PATH warns about.
 * The query is validated (no controls, space, `#`, non-ASCII or malformed `%`) and otherwise kept as is.
 */
export function canonicalizeTarget(target: string): CanonicalTarget {
  // RFC 9112 §3.2: a gateway routing on absolute-form or `*` would match something other than what
  // the backend serves (CVE-2026-88009), or become an open proxy.
  if (target.charCodeAt(0) !== SLASH) throw malformed('request-target must be origin-form (/path?query)');
  const q = target.indexOf('?');
  const end = q === -1 ? target.length : q;
  const query = q === -1 ? '' : validateQuery(target, q);
  const segments: string[] = [];
  if (end === 1) return { path: '/', segments, query };

  // Set only once a segment is rewritten; until then the canonical path is a slice of the target.
  let rewritten: string | undefined;
  let start = 1;
  let escaped = false;
  for (let i = 1; i <= end; i++) {
    const c = i === end ? SLASH : target.charCodeAt(i);
    if (c === SLASH) {
      if (i === start) throw ambiguous(i === end ? 'trailing slash' : 'empty path segment (//)');
      let value: string;
      if (escaped) {
        const segment = decodeSegment(target, start, i);
        value = segment.value;
        rewritten = `${rewritten ?? target.slice(0, start - 1)}/${segment.text}`;
      } else {
        value = target.slice(start, i);
        if (rewritten !== undefined) rewritten += `/${value}`;
      }
      // RFC 3986 §5.2.4 would resolve these; refusing them keeps one meaning for every accepted path.
      if (value === '.' || value === '..') throw ambiguous('dot segment');
      segments.push(value);
      start = i + 1;
      escaped = false;
    } else if (c === PERCENT) {
      escaped = true;
    } else if (c >= 128 || ((charClass[c] ?? 0) & PATH_RAW) === 0) {
      throw ambiguous(`character ${hex(c)} is not allowed in a path`);
    }
  }
  return { path: rewritten ?? (q === -1 ? target : target.slice(0, end)), segments, query };
}

/** Decodes one segment that holds at least one '%': `text` is its canonical spelling, `value` its meaning. */
function decodeSegment(target: string, start: number, end: number): { text: string; value: string } {
  let text = '';
  let value = '';
  let run = start;
  for (let i = start; i < end; i++) {
    if (target.charCodeAt(i) !== PERCENT) continue;
    const hi = i + 2 < end ? (hexValue[target.charCodeAt(i + 1)] ?? -1) : -1;
    const lo = i + 2 < end ? (hexValue[target.charCodeAt(i + 2)] ?? -1) : -1;
    if (hi < 0 || lo < 0) throw ambiguous('malformed percent-encoding');
    const byte = hi * 16 + lo;
    if (byte < 0x20 || byte === 0x7f) throw ambiguous(`encoded control character (%${HEX_UPPER[hi]}${HEX_UPPER[lo]})`);
    if (byte >= 0x80) throw ambiguous('encoded non-ASCII byte (overlong or fullwidth characters are refused)');
    const forbidden = forbiddenEscapes.get(byte);
    if (forbidden !== undefined) throw ambiguous(forbidden);
    const raw = target.slice(run, i);
    const char = String.fromCharCode(byte);
    text += ((charClass[byte] ?? 0) & UNRESERVED) !== 0 ? raw + char : `${raw}%${HEX_UPPER[hi]}${HEX_UPPER[lo]}`;
    value += raw + char;
    i += 2;
    run = i + 1;
  }
  const tail = target.slice(run, end);
  return { text: text + tail, value: value + tail };
}

function validateQuery(target: string, q: number): string {
  for (let i = q + 1; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === HASH) throw malformed(`character ${hex(c)} is not allowed in a query`);
    if (c === PERCENT) {
      if ((hexValue[target.charCodeAt(i + 1)] ?? -1) < 0 || (hexValue[target.charCodeAt(i + 2)] ?? -1) < 0) {
        throw malformed('malformed percent-encoding in the query');
      }
      i += 2;
    }
  }
  return target.slice(q);
}
