import { MandateError } from '../../errors.ts';

/**
 * The query parameters a route exposes to policy (routes.yaml `query: [vendor]`), decoded the way
 * nearly every backend framework reads a query (application/x-www-form-urlencoded: `+` is a space,
 * then UTF-8 percent-decoding). A name the route lists maps to its value, `''` for `?vendor` or
 * `?vendor=`, or null when absent; parameters the route does not list are not looked at (they are
 * still forwarded, verbatim, like the whole query).
 *
 * @param query The validated query string, `''` or `'?…'` (canonicalizeTarget refuses malformed `%`).
 * @throws MandateError MANDATE_QUERY_PARAM_REPEATED when a listed name appears twice: backends
 *   disagree on which one wins (first, last, or a list), so the policy cannot know which it judged.
 *   MANDATE_QUERY_PARAM_MALFORMED when a name or listed value is not UTF-8 once decoded (a lenient
 *   decoder would substitute U+FFFD, another backend would not).
 */
export function selectQueryParams(query: string, names: readonly string[]): Readonly<Record<string, string | null>> {
  const selected: Record<string, string | null> = {};
  if (names.length === 0) return selected;
  for (const name of names) selected[name] = null;
  const wanted = new Set(names);
  const seen = new Set<string>();
  for (const pair of query.slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    // Names are decoded too: `vend%6Fr=Y` is `vendor` to the backend.
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    if (!wanted.has(name)) continue;
    if (seen.has(name))
      throw new MandateError('MANDATE_QUERY_PARAM_REPEATED', `query parameter "${name}" appears twice`);
    seen.add(name);
    selected[name] = eq === -1 ? '' : decode(pair.slice(eq + 1));
  }
  return selected;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    throw new MandateError('MANDATE_QUERY_PARAM_MALFORMED', 'a query parameter is not UTF-8 once decoded');
  }
}
