import { decodeJwt } from 'jose';
import { type AgentIdentity, importAgentKey } from './agent-key.ts';
import { mandateFetch } from './mandate-fetch.ts';
import { MandateAgentError } from './refusal.ts';
import {
  DELEGATION_TOKEN_TYPE,
  discoverTokenEndpoint,
  type IssuedDelegation,
  type TokenEndpoint,
  userTokenType,
} from './token-exchange.ts';

/** One task the user asked the agent to do: what the delegation is for (RFC 8693 §2.1, RFC 9396). */
export interface Task {
  /** The backend, by its `audience` in routes.yaml (`resource`, RFC 8707). Exactly one of the two. */
  readonly resource?: string;
  /** The backend by audience or by name (`audience`). */
  readonly audience?: string;
  /** Scopes asked for; Mandate may grant fewer (see {@link Delegation.scope}), never more. */
  readonly scope?: string | readonly string[];
  /** The user's intent, RFC 9396 objects: `{type, actions, identifier, …}`. */
  readonly authorizationDetails?: readonly Record<string, unknown>[];
  /** The user's instruction, in their words (≤ 2000 characters). Recorded in the audit trail. */
  readonly intent?: string;
  /** Task id; Mandate generates one when absent ({@link Delegation.txn}). */
  readonly txn?: string;
}

export interface DelegateOptions {
  /** Mandate's base URL, where tool calls and the token exchange go (e.g. `http://mandate:8080`). */
  readonly mandate: string | URL;
  /** The user's token from the corporate identity provider, or a function that fetches it. */
  readonly userToken: string | (() => string | Promise<string>);
  /** What kind of token `userToken` is (default `access_token`). */
  readonly userTokenType?: 'access_token' | 'id_token';
  readonly agent: AgentIdentity;
  readonly task: Task;
  /**
   * Mandate's issuer identifier (`token_service.issuer`) when the agent reaches Mandate at another
   * address (a cluster-internal name). Default: `mandate` is the issuer.
   */
  readonly issuer?: string;
  /** Renew this long before expiry (default 30 s; at most half the delegation's lifetime). */
  readonly renewBeforeSeconds?: number;
  /** Lifetime of the agent's actor tokens (default 300 s): Mandate caps a delegation at it. */
  readonly actorTokenLifetimeSeconds?: number;
  /** Permit plain http to a host other than loopback (e.g. inside a mesh that encrypts). */
  readonly allowInsecureHttp?: boolean;
  /** The fetch tool calls go through (default: the global fetch). */
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * Obtains a delegation for one task: the user's token and the agent's key in, Mandate's short-lived,
 * audience-bound, act-chained token out (RFC 8693 token exchange at Mandate's `/oauth2/token`,
 * discovered from `/.well-known/oauth-authorization-server`). A refusal throws MandateRefusal.
 *
 * ```ts
 * const task = await delegate({ mandate: 'http://mandate:8080', userToken, agent, task: { … } });
 * const res = await task.fetch('/procurement/contracts/12345');
 * ```
 */
export async function delegate(options: DelegateOptions): Promise<Delegation> {
  const mandate = new URL(options.mandate);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(mandate.hostname);
  if (mandate.protocol !== 'https:' && !(mandate.protocol === 'http:' && (loopback || options.allowInsecureHttp))) {
    throw new MandateAgentError(
      'ERR_MANDATE_INSECURE_URL',
      `delegation tokens travel over TLS only (RFC 8693 §6): ${mandate.origin} (allowInsecureHttp to override)`,
    );
  }
  const agent = await importAgentKey(options.agent);
  const endpoint = await discoverTokenEndpoint(agent, {
    mandate,
    issuer: options.issuer,
    allowInsecureHttp: mandate.protocol === 'http:',
    actorTokenLifetimeSeconds: options.actorTokenLifetimeSeconds ?? 300,
  });
  const { task } = options;
  const userToken = typeof options.userToken === 'string' ? options.userToken : await options.userToken();
  const scope = typeof task.scope === 'string' ? task.scope : task.scope?.join(' ');
  const first = await endpoint.exchange({
    subject_token: userToken,
    subject_token_type: userTokenType(options.userTokenType ?? 'access_token'),
    ...(task.resource === undefined ? {} : { resource: task.resource }),
    ...(task.audience === undefined ? {} : { audience: task.audience }),
    ...(scope === undefined ? {} : { scope }),
    ...(task.authorizationDetails === undefined
      ? {}
      : { authorization_details: JSON.stringify(task.authorizationDetails) }),
    ...(task.intent === undefined ? {} : { intent: task.intent }),
    ...(task.txn === undefined ? {} : { txn: task.txn }),
  });
  return new Delegation(mandate, endpoint, first, (options.renewBeforeSeconds ?? 30) * 1000, options.fetch);
}

/**
 * A task's delegation, kept fresh: renewed (same txn, same chain, never wider) shortly before it
 * expires, one renewal at a time however many calls ask. The token stays inside: `fetch` attaches
 * it to requests to Mandate only, and the object prints without it.
 */
export class Delegation {
  /** The task id: in every audit row of this task (`mandate audit query task --txn …`). */
  readonly txn: string;
  /** Tool calls through Mandate carrying the delegation; relative URLs are Mandate's. */
  readonly fetch: typeof globalThis.fetch;
  readonly #endpoint: TokenEndpoint;
  readonly #renewBeforeMs: number;
  #current: IssuedDelegation;
  #renewing: Promise<void> | undefined;

  constructor(
    mandate: URL,
    endpoint: TokenEndpoint,
    first: IssuedDelegation,
    renewBeforeMs: number,
    baseFetch?: typeof globalThis.fetch,
  ) {
    this.#endpoint = endpoint;
    this.#current = first;
    this.#renewBeforeMs = renewBeforeMs;
    this.txn = String(decodeJwt(first.token).txn);
    this.fetch = mandateFetch(mandate, () => this.token(), baseFetch);
  }

  /** The granted scope (space-separated): may be narrower than the task asked for. */
  get scope(): string {
    return this.#current.scope;
  }

  get expiresAt(): Date {
    return new Date(this.#current.expiresAtMs);
  }

  /**
   * The current delegation token, renewed first when it is close to expiry. For clients `fetch`
   * does not cover (a WebSocket handshake's Authorization header); send it to Mandate only.
   */
  async token(): Promise<string> {
    const margin = Math.min(this.#renewBeforeMs, this.#current.lifetimeMs / 2);
    if (Date.now() < this.#current.expiresAtMs - margin) return this.#current.token;
    // Single flight: concurrent callers share one renewal (one exchange, one audit event).
    this.#renewing ??= this.#renew().finally(() => {
      this.#renewing = undefined;
    });
    await this.#renewing;
    return this.#current.token;
  }

  async #renew(): Promise<void> {
    // The current delegation as subject_token, presented by its own agent: Mandate's renewal. It
    // keeps txn, intent, chain and task start, and is refused once the task is revoked or over.
    this.#current = await this.#endpoint.exchange({
      subject_token: this.#current.token,
      subject_token_type: DELEGATION_TOKEN_TYPE,
      txn: this.txn,
    });
  }

  toJSON(): object {
    return { txn: this.txn, scope: this.scope, expiresAt: this.expiresAt.toISOString() };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Delegation ${JSON.stringify(this.toJSON())}`;
  }
}
