const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a JOSE header or claims set: strict UTF-8 (RFC 8725 §3.7), a JSON object, and no member
 * name twice (RFC 7515 §4 / RFC 7519 §4: a parser must reject duplicates, or two components reading
 * "the" `alg` or `sub` could disagree). Returns undefined for anything else.
 */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return hasDuplicateMemberName(text) ? undefined : (value as Record<string, unknown>);
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
