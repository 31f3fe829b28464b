import { showControls } from '../pipeline/6-audit/format.ts';

/** Markup that is safe to emit as is: built only by `html`, never from a plain string. */
export interface Html {
  readonly markup: string;
}

const brand = new WeakSet<Html>();

/**
 * A tagged template that escapes every interpolated value: strings (and numbers) are HTML-escaped for
 * text and quoted attribute values, with control and bidi characters shown as `\uXXXX`; `null` and
 * `undefined` render as nothing; arrays are concatenated; only an `Html` made by this function passes
 * through. Audit rows carry caller-controlled text (intent, paths, user names), so escaping is the
 * default and cannot be forgotten.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let markup = strings[0]!;
  for (let i = 0; i < values.length; i++) markup += render(values[i]) + strings[i + 1]!;
  const out = { markup };
  brand.add(out);
  return out;
}

function render(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (typeof value === 'object' && brand.has(value as Html)) return (value as Html).markup;
  return escapeHtml(showControls(String(value)));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
