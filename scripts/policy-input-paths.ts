/**
 * `node scripts/policy-input-paths.ts <rego dir>` — prints the bundle's `input-paths.json`: the parts
 * of `input` the compiled policies can read, found in the Rego syntax trees `opa parse` gives (every
 * module `opa build` compiles: `*_test.rego` excluded). The gateway remembers a decision by the
 * values at these paths only (gateway/pipeline/3-authorize/decision-memo.ts), so the analysis errs
 * one way only: whatever it cannot follow counts as reading everything below it.
 *
 * - `input.a.b[x].c` reads `a.b`: the path stops at the first part that is not a string constant.
 * - `input` as a value of its own (`x := input`, `f(input)`, `walk(input)`) reads all of it: `paths` is
 *   null, and nothing is remembered.
 * - An import of `input.a` is a reference to `a`; refs through the imported name stay inside it.
 *
 * Output: `{"version": 1, "paths": [["action"], ["request", "path"], …] | null}`, sorted, no path
 * inside another.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

type Path = readonly string[];

/** The paths of `input` the modules read; null when one reads `input` as a whole. */
export function inputPaths(modules: readonly unknown[]): Path[] | null {
  const found: Path[] = [];
  let whole = false;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    if (isInputVar(node)) {
      whole = true;
      return;
    }
    const term = node as { type?: unknown; value?: unknown };
    if (term.type === 'ref' && Array.isArray(term.value) && isInputVar(term.value[0])) {
      const parts = term.value as { type?: unknown; value?: unknown }[];
      const path: string[] = [];
      let i = 1;
      for (; i < parts.length && parts[i]!.type === 'string'; i++) path.push(parts[i]!.value as string);
      if (path.length === 0) whole = true;
      else found.push(path);
      // What follows the constant prefix (a variable, a nested ref) is visited like any other term.
      visit(parts.slice(i));
      return;
    }
    for (const child of Object.values(node)) visit(child);
  };
  for (const module of modules) visit(module);
  return whole ? null : outermost(found);
}

const isInputVar = (term: unknown): boolean =>
  typeof term === 'object' &&
  term !== null &&
  (term as { type?: unknown }).type === 'var' &&
  (term as { value?: unknown }).value === 'input';

/** Sorted and deduplicated, leaving out every path that lies inside another. */
function outermost(paths: readonly Path[]): Path[] {
  const sorted = [...new Map(paths.map((p) => [JSON.stringify(p), p])).values()].sort((a, b) =>
    JSON.stringify(a) < JSON.stringify(b) ? -1 : 1,
  );
  return sorted.filter((p) => !sorted.some((q) => q.length < p.length && q.every((part, i) => part === p[i])));
}

/** The modules `opa build … --ignore '*_test.rego'` compiles, under `dir`. */
function regoFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.rego') && !e.name.endsWith('_test.rego'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: policy-input-paths.ts <rego dir>');
    process.exit(2);
  }
  const modules = regoFiles(dir).map((file) =>
    JSON.parse(execFileSync('opa', ['parse', '--format', 'json', file], { encoding: 'utf8', maxBuffer: 64 << 20 })),
  );
  process.stdout.write(`${JSON.stringify({ version: 1, paths: inputPaths(modules) })}\n`);
}
