import type { LimitsInput } from '../../limits/limits-input.ts';
import type { Actor, Principal } from '../1-authenticate/principal.ts';
import type { RequestAttributes } from '../2-resolve/request-attributes.ts';
import type { RouteMatch } from '../2-resolve/route-match.ts';

/**
 * The document every policy sees as `input`: the contract security teams write Rego against.
 * Built only by {@link buildPolicyInput}, from an allow-list: nothing reaches a policy unless it is
 * named here (never the raw token, its hash, headers or the body). Keys are snake_case, and absent
 * optional values are `null` rather than missing, so Rego can test them.
 *
 * A new field may be added within version 1; renaming, removing or retyping one bumps `version`
 * (`mandate/decision` denies any version it does not know).
 *
 * @example
 * ```json
 * {
 *   "version": 1,
 *   "time": { "unix_ms": 1767225600000, "iso": "2026-01-01T00:00:00.000Z" },
 *   "user": {
 *     "id": "alice",
 *     "issuer": "https://mandate.dev.local",
 *     "attributes": { "roles": ["procurement"], "region": "emea" }
 *   },
 *   "agent": { "sub": "procurement-assistant", "iss": null },
 *   "agent_chain": [{ "sub": "procurement-assistant", "iss": null }],
 *   "token": {
 *     "jti": "5f0c…",
 *     "scopes": ["procurement:read", "procurement:write"],
 *     "authorization_details": [
 *       { "type": "procurement_contract", "actions": ["cancel"], "identifier": "12345" }
 *     ],
 *     "txn": "task-8841",
 *     "intent": "Cancel contract 12345, the supplier went bankrupt",
 *     "client_id": "procurement-assistant",
 *     "issued_at": 1767225500,
 *     "expires_at": 1767226100
 *   },
 *   "action": "procurement.contract.cancel",
 *   "resource": { "type": "contract", "id": "12345" },
 *   "request": {
 *     "method": "POST",
 *     "path": "/procurement/contracts/12345/cancel",
 *     "query": "",
 *     "backend": "procurement",
 *     "params": { "contract_id": "12345" },
 *     "query_params": {},
 *     "body": null
 *   },
 *   "route": { "policy": "procurement", "template": "/procurement/contracts/{contract_id}/cancel", "tier": "execute" }
 * }
 * ```
 */
export interface PolicyInput {
  /** Version of this document's shape. */
  readonly version: 1;
  /** When the gateway received the request. */
  readonly time: {
    /** Milliseconds since the epoch. */
    readonly unix_ms: number;
    /** The same instant, ISO 8601 UTC with milliseconds. */
    readonly iso: string;
  };
  /** The user the agent acts for; null for a background agent's token (`no_user`: no natural person). */
  readonly user: {
    /** The token's `sub`. */
    readonly id: string;
    /** The token's `iss`: the issuer that signed it. */
    readonly issuer: string;
    /** The user claims routes.yaml allow-lists for that issuer (`issuers[].user_claims`), as signed. */
    readonly attributes: Readonly<Record<string, unknown>>;
  } | null;
  /**
   * The current actor: the outermost `act`. RFC 8693 §4.1: the only actor to base access control
   * on; `agent_chain` beyond it is informational.
   */
  readonly agent: PolicyActor;
  /** The whole delegation chain, outermost (current) actor first, least recent last. */
  readonly agent_chain: readonly PolicyActor[];
  /** What the delegation token grants. */
  readonly token: {
    readonly jti: string;
    /** The `scope` claim, split on spaces. */
    readonly scopes: readonly string[];
    /** RFC 9396 `authorization_details`: the user's intent, objects exactly as signed. */
    readonly authorization_details: readonly Readonly<Record<string, unknown>>[];
    /** Task (transaction) id the token was issued for. */
    readonly txn: string | null;
    /** The user's instruction, in their words. Informational: match on `authorization_details`. */
    readonly intent: string | null;
    readonly client_id: string | null;
    /** `iat`, seconds since the epoch. */
    readonly issued_at: number;
    /** `exp`, seconds since the epoch. */
    readonly expires_at: number;
  };
  /** The business action the route maps to, e.g. `procurement.contract.cancel`. */
  readonly action: string;
  /** What the action is applied to; `id` is null for collections (e.g. a list). */
  readonly resource: { readonly type: string; readonly id: string | null };
  /** The HTTP request, as resolved. */
  readonly request: {
    readonly method: string;
    /** The canonical gateway path: the one matched, authorized and audited. */
    readonly path: string;
    /** The query string as received and validated: `''` or `'?…'`. */
    readonly query: string;
    /** Name of the backend (routes.yaml `backends[].name`). */
    readonly backend: string;
    /** Path parameters, decoded, e.g. `{ "contract_id": "12345" }`. */
    readonly params: Readonly<Record<string, string>>;
    // Intent binding (issue #4): what of the request a policy can compare with `authorization_details`.
    /**
     * The query parameters the route lists (routes.yaml `query`), decoded: each a string (`''` for
     * `?vendor` or `?vendor=`) or null when absent. `{}` when the route lists none.
     */
    readonly query_params: Readonly<Record<string, string | null>>;
    /**
     * The JSON body fields the route lists (routes.yaml `body.fields`), each its JSON value as sent or
     * null when absent (an explicit `null` reads the same). null when the route does not read the body.
     */
    readonly body: Readonly<Record<string, unknown>> | null;
  };
  /** The route that matched. */
  readonly route: {
    /** The policy deciding: package `mandate.policies.<policy>`. */
    readonly policy: string;
    /** The path template, e.g. `/procurement/contracts/{contract_id}/cancel`. */
    readonly template: string;
    /**
     * Staged authorization tier (routes.yaml `tier`; GET/HEAD default to `read`, others to `execute`).
     * `approval`: the call is held for the user unless the decision says `approval_required: false`.
     */
    readonly tier: 'read' | 'approval' | 'execute';
  };
  // Behavioural limits (issue #4): see gateway/limits/limits-input.ts for the shape and an example.
  /**
   * This call's task, agent and user counters before it is counted, with the configured maxima;
   * null when routes.yaml has no `limits` section.
   */
  readonly limits: LimitsInput | null;
}

/** One party in the delegation chain; `iss` is null when the `act` object carries none. */
export interface PolicyActor {
  readonly sub: string;
  readonly iss: string | null;
}

/**
 * Translates the verified principal and the resolved route into the policy input: the one place
 * the camelCase pipeline meets the snake_case policy boundary.
 *
 * @param method The request method, as matched.
 * @param nowMs When the request was received, milliseconds since the epoch.
 * @param attributes The query parameters and body fields the route exposes (stage 2b).
 * @param limits The call's limit counters (gateway/limits/), null when no limits are configured.
 */
export function buildPolicyInput(
  principal: Principal,
  match: RouteMatch,
  method: string,
  nowMs: number,
  attributes: RequestAttributes,
  limits: LimitsInput | null = null,
): PolicyInput {
  return {
    version: 1,
    time: { unix_ms: nowMs, iso: new Date(nowMs).toISOString() },
    user: principal.noUser ? null : { id: principal.user, issuer: principal.issuer, attributes: principal.attributes },
    agent: actor(principal.agent),
    agent_chain: principal.chain.map(actor),
    token: {
      jti: principal.jti,
      scopes: principal.scopes,
      authorization_details: principal.authorizationDetails,
      txn: principal.txn ?? null,
      intent: principal.intent ?? null,
      client_id: principal.clientId ?? null,
      issued_at: principal.issuedAt,
      expires_at: principal.expiresAt,
    },
    action: match.action,
    resource: { type: match.resource.type, id: match.resource.id ?? null },
    request: {
      method,
      path: match.path,
      query: match.query,
      backend: match.backend.name,
      params: match.params,
      query_params: attributes.queryParams,
      body: attributes.body?.fields ?? null,
    },
    route: { policy: match.policy, template: match.template, tier: match.tier },
    limits,
  };
}

// Only sub and iss: other members of an `act` object carry no identity (RFC 8693 §4.1).
const actor = (a: Actor): PolicyActor => ({ sub: a.sub, iss: a.iss ?? null });
