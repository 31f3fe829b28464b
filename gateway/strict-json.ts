const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Why bytes are not strict JSON: not UTF-8 or not JSON at all, or a member name twice in one object. */
export type StrictJsonFailure = 'invalid' | 'duplicate_member';

/**
 * Parses strict JSON: UTF-8 (a BOM or an invalid sequence is refused, RFC 8259 §8.1), and no member
 * name twice in any object at any depth (two components reading "the" value of a name could disagree:
 * one takes the first, another the last). `reviver` is JSON.parse's, with the source text of each
 * primitive in its third argument.
 */
export function parseStrictJson(
  bytes: Uint8Array,
  reviver?: (this: unknown, key: string, value: unknown, context: { source?: string }) => unknown,
): { ok: true; value: unknown } | { ok: false; failure: StrictJsonFailure } {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text, reviver as Parameters<typeof JSON.parse>[1]);
  } catch {
    return { ok: false, failure: 'invalid' };
  }
  return hasDuplicateMemberName(text) ? { ok: false, failure: 'duplicate_member' } : { ok: true, value };
}

/**
 * Parses a JOSE header or claims set: strict JSON (RFC 8725 §3.7 UTF-8; RFC 7515 §4 / RFC 7519 §4: a
 * parser must reject duplicate member names, or two components reading "the" `alg` or `sub` could
 * disagree) that is an object. Returns undefined for anything else.
 */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  const parsed = parseStrictJson(bytes);
  if (!parsed.ok) return undefined;
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

/**
 * Scans text already known to be valid JSON: one set of member names per open object (`null` for
 * arrays), and a flag telling whether the next string is a member name or a value.
 */
function hasDuplicateMemberName(text: string): boolean {
  const open: (Set<string> | null)[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const names = open.at(-1);
      if (expectName && names) {
        const quoted = text.slice(i, end + 1);
        // Escapes are resolved, so "\u0061lg" is the same name as "alg".
        const name = quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
        if (names.has(name)) return true;
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      expectName = true;
    } else if (c === '[') {
      open.push(null);
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectName = open.at(-1) != null;
    }
  }
  return false;
}
