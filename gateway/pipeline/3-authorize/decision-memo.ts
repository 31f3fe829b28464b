import type { Decision } from './decision.ts';

/** A path into the policy input, e.g. `["request", "params", "region"]`. */
type InputPath = readonly string[];

/**
 * Decisions remembered by exactly what the policy can read of its input. A policy is a pure function
 * of its input and data (the bundle's), so two inputs that agree at every path the policy reads get
 * the same decision; which paths those are, the policy build found in the Rego itself
 * (scripts/policy-input-paths.ts writes the bundle's `input-paths.json`). An agent repeating a call
 * then costs a lookup instead of a Wasm evaluation (≈ 20% of the main thread's time per call).
 *
 * Nothing is remembered when the policy reads the whole input, or a part that differs on every call
 * (`time`, `limits`): it would never be found again. A decision that read the clock (`time.now_ns`)
 * is not remembered either (the engine knows: it supplies that builtin).
 */
export class DecisionMemo {
  readonly #paths: readonly InputPath[];
  readonly #capacity: number;
  readonly #decisions = new Map<string, Decision>();

  private constructor(paths: readonly InputPath[], capacity: number) {
    this.#paths = paths;
    this.#capacity = capacity;
  }

  /**
   * For the bundle's `input-paths.json` content (undefined when the bundle has none); undefined
   * when nothing can be remembered. Throws on a file of another shape: the bundle is broken.
   */
  static forBundle(inputPaths: unknown, capacity = 4096): DecisionMemo | undefined {
    if (inputPaths === undefined) return undefined;
    const { version, paths } = (inputPaths ?? {}) as { version?: unknown; paths?: unknown };
    if (version !== 1 || !(paths === null || isPathList(paths))) {
      throw new Error('input-paths.json is not {"version": 1, "paths": [[string, …], …] | null}');
    }
    if (paths === null || paths.some((p) => p.length === 0 || VOLATILE.has(p[0]!))) return undefined;
    return new DecisionMemo(paths, capacity);
  }

  /** What the policy can see of `input`, as a string: equal keys, equal decisions. */
  keyOf(input: object): string {
    // Each path's value wrapped in an array, [] when absent: absent and null must not meet.
    const values: unknown[][] = [];
    for (const path of this.#paths) {
      let value: unknown = input;
      for (const part of path) {
        value = member(value, part);
        if (value === ABSENT) break;
      }
      values.push(value === ABSENT ? [] : [value]);
    }
    return JSON.stringify(values);
  }

  get(key: string): Decision | undefined {
    const decision = this.#decisions.get(key);
    if (decision === undefined) return undefined;
    // Most recently used last: eviction takes the first.
    this.#decisions.delete(key);
    this.#decisions.set(key, decision);
    return decision;
  }

  set(key: string, decision: Decision): void {
    this.#decisions.set(key, decision);
    if (this.#decisions.size > this.#capacity) this.#decisions.delete(this.#decisions.keys().next().value as string);
  }

  get size(): number {
    return this.#decisions.size;
  }
}

/** Parts of the input that change on every call (policy-input.ts). */
const VOLATILE = new Set(['time', 'limits']);

const ABSENT = Symbol('absent');

/**
 * `value[key]` as the policy reads it: a string key of an object only (never an array's index), and
 * a member whose value is undefined is left out of the JSON the policy gets, so it is absent too.
 */
function member(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return ABSENT;
  const found = (value as Record<string, unknown>)[key];
  return found === undefined ? ABSENT : found;
}

const isPathList = (paths: unknown): paths is InputPath[] =>
  Array.isArray(paths) && paths.every((p) => Array.isArray(p) && p.every((part) => typeof part === 'string'));
