import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LoadedPolicy, loadPolicy } from '@open-policy-agent/opa-wasm';
import { MandateError } from '../../errors.ts';
import type { Decision } from './decision.ts';
import { DecisionMemo } from './decision-memo.ts';
import type { PolicyInput } from './policy-input.ts';

/** The policy bundle, compiled to Wasm and running in-process. */
export interface PolicyEngine {
  /**
   * Hex SHA-256 over policy.wasm, data.json and input-paths.json (when present): which policy decided,
   * recorded with every decision.
   */
  readonly revision: string;
  /**
   * Evaluates `mandate/decision` for one request, synchronously. A result that is not exactly one
   * `{allow: boolean, reasons: string[], approval_required?: boolean}` throws MANDATE_AUTHZ_POLICY_ERROR: the error denies.
   */
  evaluate(input: PolicyInput): Decision;
  /**
   * Evaluates another entrypoint compiled into the same bundle (e.g. `mandate/exchange/decision`, the
   * token service) and returns its one result, unvalidated: the caller owns that entrypoint's
   * contract. Throws MANDATE_AUTHZ_POLICY_ERROR when the bundle lacks the entrypoint, the evaluation
   * fails, or there is not exactly one result.
   */
  evaluateEntrypoint(entrypoint: string, input: object): unknown;
}

/** The bundle cannot be loaded, so the gateway must not start. */
export class PolicyBundleError extends Error {
  constructor(bundleDir: string, problem: string, options?: { cause?: unknown }) {
    super(`policy bundle ${bundleDir}: ${problem}`, options);
    this.name = 'PolicyBundleError';
  }
}

/** The one entrypoint `scripts/build-policy.sh` compiles (rego/mandate/decision.rego). */
const ENTRYPOINT = 'mandate/decision';

/**
 * Loads `<bundleDir>/policy.wasm` and `<bundleDir>/data.json` as built by `scripts/build-policy.sh`,
 * and `input-paths.json` when the bundle has one: the input paths the policies read, by which
 * decisions are remembered (decision-memo.ts). The revision covers all three.
 *
 * OPA's Wasm target compiles most builtins into the module; the rest it calls on the host. The
 * gateway supplies `time.now_ns` from `clock` (constant within one evaluation, as in OPA) and
 * nothing else: the SDK's JavaScript stand-ins (`sprintf`, `regex.split`, `yaml.*`,
 * `json.is_valid`) do not behave exactly like the Go implementations `opa test` runs, so a policy
 * using them could decide differently here than in its tests. Loading fails, naming every builtin
 * the bundle needs and nobody supplies, rather than failing on the first request that reaches it.
 *
 * One instance serves the whole process: a Wasm instance is not re-entrant, and `evaluate` is
 * synchronous, so evaluations never interleave.
 *
 * @param clock Milliseconds since the epoch.
 * @throws PolicyBundleError when the files are unreadable or the module is unusable.
 */
export async function loadPolicyEngine(bundleDir: string, clock: () => number): Promise<PolicyEngine> {
  const [wasm, data, inputPaths] = await Promise.all([
    read(bundleDir, 'policy.wasm'),
    read(bundleDir, 'data.json'),
    readIfPresent(bundleDir, 'input-paths.json'),
  ]);
  // The input paths decide which decisions are reused (decision-memo.ts): part of what decided.
  const hash = createHash('sha256').update(wasm).update(data);
  if (inputPaths !== undefined) hash.update(inputPaths);
  const revision = hash.digest('hex');
  let memo: DecisionMemo | undefined;
  try {
    memo = DecisionMemo.forBundle(inputPaths === undefined ? undefined : JSON.parse(inputPaths.toString('utf8')));
  } catch (cause) {
    throw new PolicyBundleError(bundleDir, 'input-paths.json is malformed', { cause });
  }

  let nowNs: number | undefined;
  const builtins: Record<string, () => unknown> = {
    'time.now_ns': () => {
      nowNs ??= Math.round(clock() * 1e6);
      return nowNs;
    },
  };

  const policy = await loadPolicy(wasm, undefined, builtins).catch((cause: unknown) => {
    throw new PolicyBundleError(bundleDir, 'policy.wasm is not an OPA Wasm module', { cause });
  });
  // Before setData: reading the declaration allocates on the heap that setData resets.
  const unsupplied = hostBuiltins(policy).filter((name) => !Object.hasOwn(builtins, name));
  if (unsupplied.length > 0) {
    throw new PolicyBundleError(
      bundleDir,
      `the policy calls builtins the gateway does not provide: ${unsupplied.join(', ')}`,
    );
  }
  const entrypoint: unknown = policy.entrypoints[ENTRYPOINT];
  if (typeof entrypoint !== 'number') {
    throw new PolicyBundleError(bundleDir, `policy.wasm has no ${ENTRYPOINT} entrypoint`);
  }
  try {
    policy.setData(JSON.parse(data.toString('utf8')));
  } catch (cause) {
    throw new PolicyBundleError(bundleDir, 'data.json is not valid JSON', { cause });
  }

  const run = evaluator(policy);
  return {
    revision,
    evaluate(input) {
      const key = memo?.keyOf(input);
      const known = key === undefined ? undefined : memo?.get(key);
      if (known !== undefined) return known;
      nowNs = undefined;
      let resultSet: unknown;
      try {
        resultSet = run(input, entrypoint);
      } catch (cause) {
        // The SDK throws strings and plain objects with internals in them: keep them as the cause only.
        throw new MandateError('MANDATE_AUTHZ_POLICY_ERROR', 'policy evaluation failed', { cause });
      }
      const decision = toDecision(resultSet, revision);
      // A decision that read the clock held at that instant only.
      if (key !== undefined && nowNs === undefined) memo?.set(key, decision);
      return decision;
    },
    evaluateEntrypoint(name, input) {
      const id: unknown = policy.entrypoints[name];
      if (typeof id !== 'number') throw policyError(`the policy bundle has no ${name} entrypoint`);
      nowNs = undefined;
      let resultSet: unknown;
      try {
        resultSet = run(input, id);
      } catch (cause) {
        throw new MandateError('MANDATE_AUTHZ_POLICY_ERROR', 'policy evaluation failed', { cause });
      }
      if (!Array.isArray(resultSet) || resultSet.length !== 1)
        throw policyError('the policy returned no single result');
      return (resultSet[0] as { result?: unknown }).result;
    },
  };
}

/** The slice of the OPA Wasm ABI (≥ 1.2) the one-call evaluation uses. */
interface OpaEvalAbi {
  opa_eval(
    reserved: 0,
    entrypoint: number,
    data: number,
    input: number,
    inputLen: number,
    heap: number,
    format: 0,
  ): number;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * `LoadedPolicy.evaluate`, minus its per-call garbage (a TextEncoder, an encoded copy of the input, a
 * TextDecoder and a byte-by-byte scan for the result's end): the input is encoded straight into the
 * instance's memory where the SDK puts it, `opa_eval` runs as the SDK calls it, and the result's end
 * is found natively. The SDK's own method serves modules older than ABI 1.2.
 */
function evaluator(policy: LoadedPolicy): (input: unknown, entrypoint: number) => unknown {
  if (!(Number(policy.minorVersion) >= 2)) return (input, entrypoint) => policy.evaluate(input, entrypoint);
  const abi = policy.wasmInstance.exports as unknown as OpaEvalAbi;
  return (input, entrypoint) => {
    const json = JSON.stringify(input);
    const at = policy.dataHeapPtr as number;
    // UTF-8 takes at most 3 bytes per UTF-16 unit; grow first rather than encode twice.
    const room = at + json.length * 3 - policy.mem.buffer.byteLength;
    if (room > 0) policy.mem.grow(Math.ceil(room / 65536));
    const { written } = utf8.encodeInto(json, new Uint8Array(policy.mem.buffer, at));
    const result = abi.opa_eval(0, entrypoint, policy.dataAddr, at, written, at + written, 0);
    // Read after the call: the evaluation may have grown (and so replaced) the memory's buffer.
    const memory = new Uint8Array(policy.mem.buffer);
    return JSON.parse(fromUtf8.decode(memory.subarray(result, memory.indexOf(0, result))));
  };
}

/** A bundle file that older bundles (and bundles built by hand) lack. */
async function readIfPresent(bundleDir: string, file: string): Promise<Buffer | undefined> {
  try {
    return await read(bundleDir, file);
  } catch (e) {
    if (((e as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    throw e;
  }
}

async function read(bundleDir: string, file: string): Promise<Buffer> {
  try {
    return await readFile(join(bundleDir, file));
  } catch (cause) {
    throw new PolicyBundleError(bundleDir, `cannot read ${file}`, { cause });
  }
}

/** The builtins the module calls on the host, per the OPA Wasm ABI: `builtins()` → `{name: id}`. */
function hostBuiltins(policy: LoadedPolicy): string[] {
  const abi = policy.wasmInstance.exports as unknown as { builtins(): number; opa_json_dump(addr: number): number };
  const start = abi.opa_json_dump(abi.builtins());
  const memory = new Uint8Array(policy.mem.buffer);
  const end = memory.indexOf(0, start);
  return Object.keys(JSON.parse(Buffer.from(memory.subarray(start, end)).toString('utf8')));
}

// Fail closed: only exactly one result of exactly the contract's shape is a decision.
function toDecision(resultSet: unknown, policyRevision: string): Decision {
  if (!Array.isArray(resultSet) || resultSet.length === 0) throw policyError('the policy returned no decision');
  if (resultSet.length > 1) throw policyError('the policy returned more than one decision');
  const decision: unknown = resultSet[0]?.result;
  if (typeof decision !== 'object' || decision === null) throw policyError('the policy decision is malformed');
  const { allow, reasons, approval_required: approvalRequired } = decision as Record<string, unknown>;
  if (typeof allow !== 'boolean' || !Array.isArray(reasons) || !reasons.every((r) => typeof r === 'string')) {
    throw policyError('the policy decision is malformed');
  }
  // Optional (rego/mandate/decision.rego); present, it must be a boolean like `allow`.
  if (approvalRequired !== undefined && typeof approvalRequired !== 'boolean') {
    throw policyError('the policy decision is malformed');
  }
  return Object.freeze({
    allow,
    reasons: Object.freeze([...reasons]),
    policyRevision,
    ...(approvalRequired === undefined ? {} : { approvalRequired }),
  });
}

const policyError = (detail: string): MandateError => new MandateError('MANDATE_AUTHZ_POLICY_ERROR', detail);
