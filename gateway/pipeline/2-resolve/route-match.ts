import type { BodyAttributesConfig } from '../../config/request-attributes-schema.ts';
import type { BackendConfig } from '../../config/schema.ts';

/** What a request means in business terms: the outcome of `resolve`. */
export interface RouteMatch {
  /** Business action, e.g. procurement.contract.cancel. */
  readonly action: string;
  readonly resource: { readonly type: string; readonly id: string | undefined };
  /** Path parameters, decoded (the canonical path only ever percent-encodes reserved characters). */
  readonly params: Readonly<Record<string, string>>;
  /** Canonical gateway path: the one matched, authorized and audited. */
  readonly path: string;
  /** The query string as received and validated ('' or '?…'). */
  readonly query: string;
  readonly backend: BackendConfig;
  /** Path (and query) sent to the backend, derived only from the canonical path. */
  readonly upstreamPath: string;
  /** Policy name (package mandate.policies.<name>). */
  readonly policy: string;
  /** The route template that matched, e.g. /procurement/contracts/{contract_id}/cancel. */
  readonly template: string;
  readonly websocket: boolean;
  /** What of the request the route exposes to policy (routes.yaml `query`, `body`): read in stage 2b. */
  readonly attributes: {
    readonly query: readonly string[];
    /** Undefined: the body is not read, only streamed to the backend. */
    readonly body: BodyAttributesConfig | undefined;
  };
  /** Staged authorization tier (routes.yaml `tier`, defaulted by method): `approval` holds calls for the user. */
  readonly tier: 'read' | 'approval' | 'execute';
}
