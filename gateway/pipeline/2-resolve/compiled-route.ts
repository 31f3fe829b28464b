import type { BackendConfig, RouteConfig } from '../../config/schema.ts';
import type { CanonicalTarget } from './canonical-path.ts';
import type { RouteMatch } from './route-match.ts';

/** One route of routes.yaml, prepared at start-up so that matching is a few comparisons. */
export interface CompiledRoute {
  readonly method: string;
  /** One entry per path segment: the literal it must equal, or undefined for a {param}. */
  readonly literals: readonly (string | undefined)[];
  /** '0' per literal and '1' per parameter segment: sorting by it puts literals first at each segment. */
  readonly shape: string;
  /** True when the canonical segments fill this template (and pass every parameter pattern). */
  matches(segments: readonly string[]): boolean;
  toMatch(target: CanonicalTarget): RouteMatch;
}

interface Param {
  readonly name: string;
  readonly index: number;
  readonly pattern: RegExp | undefined;
}

const PARAM = /^\{([a-z_][a-z0-9_]*)\}$/;

/** Template segments; the root template '/' has none, like the root path. */
const splitTemplate = (template: string): string[] => (template === '/' ? [] : template.slice(1).split('/'));

export function compileRoute(route: RouteConfig, backend: BackendConfig, defaultPolicy: string): CompiledRoute {
  const templateSegments = splitTemplate(route.path);
  const params: Param[] = [];
  const literals = templateSegments.map((segment, index) => {
    const name = PARAM.exec(segment)?.[1];
    if (name === undefined) return segment;
    // A plain object is built per request; '__proto__' would set its prototype instead of a key.
    if (name === '__proto__') throw new Error(`${route.path}: parameter name "__proto__" is not allowed`);
    const pattern = route.params[name];
    // Anchored whatever the config wrote: an unanchored `[0-9]+` must not accept `12abc`.
    params.push({ name, index, pattern: pattern === undefined ? undefined : new RegExp(`^(?:${pattern})$`) });
    return undefined;
  });
  const indexOf = new Map(params.map((p) => [p.name, p.index]));
  const upstream = compileUpstream(upstreamPrefix(backend.url) + route.upstream_path, indexOf);
  const idParam = PARAM.exec(route.resource.id ?? '')?.[1];
  const resourceId = idParam === undefined ? route.resource.id : indexOf.get(idParam);
  const policy = route.policy ?? defaultPolicy;
  const attributes = { query: route.query, body: route.body };
  const tier = route.tier ?? (route.method === 'GET' || route.method === 'HEAD' ? 'read' : 'execute');

  return {
    method: route.method,
    literals,
    shape: literals.map((l) => (l === undefined ? '1' : '0')).join(''),
    matches(segments) {
      for (let i = 0; i < literals.length; i++) {
        const literal = literals[i];
        if (literal !== undefined && literal !== segments[i]) return false;
      }
      for (const p of params) {
        if (p.pattern !== undefined && !p.pattern.test(segments[p.index] as string)) return false;
      }
      return true;
    },
    toMatch({ path, segments, query }) {
      const values: Record<string, string> = {};
      for (const p of params) values[p.name] = segments[p.index] as string;
      let upstreamPath = '';
      // Parameters are re-encoded from their decoded value: the backend receives exactly one spelling.
      for (const piece of upstream)
        upstreamPath += typeof piece === 'string' ? piece : encodeURIComponent(segments[piece] as string);
      return {
        action: route.action,
        resource: {
          type: route.resource.type,
          id: typeof resourceId === 'number' ? (segments[resourceId] as string) : resourceId,
        },
        params: values,
        path,
        query,
        backend,
        upstreamPath: upstreamPath + query,
        policy,
        template: route.path,
        websocket: route.websocket,
        attributes,
        tier,
      };
    },
  };
}

/** The backend URL's own path (e.g. /api/v2 of http://host/api/v2/), without a trailing slash. */
function upstreamPrefix(url: string): string {
  const { pathname } = new URL(url);
  return pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
}

/** Splits `/contracts/{contract_id}/cancel` into ['/contracts/', <segment index>, '/cancel']. */
function compileUpstream(template: string, indexOf: ReadonlyMap<string, number>): (string | number)[] {
  return template
    .split(/\{([a-z_][a-z0-9_]*)\}/)
    .map((piece, i) => {
      if (i % 2 === 0) return piece;
      const index = indexOf.get(piece);
      if (index === undefined) throw new Error(`upstream_path: {${piece}} is not a parameter of path`);
      return index;
    })
    .filter((piece) => piece !== '');
}
