import type { Config } from '../../config/load.ts';
import { MandateError } from '../../errors.ts';
import { canonicalizeTarget } from './canonical-path.ts';
import { type CompiledRoute, compileRoute } from './compiled-route.ts';
import type { RouteMatch } from './route-match.ts';

/** The routes of a configuration, compiled once at start-up. */
export interface RouteTable {
  /**
   * Canonicalizes the raw request-target and finds its route. Throws MandateError:
   * MANDATE_REQUEST_MALFORMED / MANDATE_PATH_AMBIGUOUS (see canonicalizeTarget),
   * MANDATE_ROUTE_NOT_FOUND, or MANDATE_METHOD_NOT_ALLOWED with `allow` (sorted methods of the path).
   */
  resolve(method: string, rawTarget: string): RouteMatch;
}

const none: readonly CompiledRoute[] = [];

/**
 * Matching is on whole decoded segments, case-sensitive; methods compare exactly (RFC 9110 §9.1), and
 * HEAD is not implied by GET: each method is its own business action. Routes are grouped by segment
 * count and, within a group, ordered literal-before-parameter at the first segment where they differ,
 * so `/a/b` wins over `/a/{x}` whatever the order of routes.yaml (the loader already refuses two
 * routes with the same method and shape).
 */
export function compileRouteTable(config: Config): RouteTable {
  const backends = new Map(config.backends.map((b) => [b.name, b]));
  const byLength = new Map<number, CompiledRoute[]>();
  for (const route of config.routes) {
    const backend = backends.get(route.backend);
    if (backend === undefined) throw new Error(`route ${route.path}: unknown backend "${route.backend}"`);
    const compiled = compileRoute(route, backend, config.gateway.default_policy);
    const group = byLength.get(compiled.literals.length) ?? [];
    group.push(compiled);
    byLength.set(compiled.literals.length, group);
  }
  for (const group of byLength.values()) group.sort((a, b) => (a.shape < b.shape ? -1 : a.shape > b.shape ? 1 : 0));

  return Object.freeze({
    resolve(method: string, rawTarget: string): RouteMatch {
      const target = canonicalizeTarget(rawTarget);
      const candidates = byLength.get(target.segments.length) ?? none;
      for (const route of candidates) {
        if (route.method === method && route.matches(target.segments)) return route.toMatch(target);
      }
      const allow = candidates.filter((r) => r.matches(target.segments)).map((r) => r.method);
      if (allow.length > 0) {
        const methods = [...new Set(allow)].sort();
        // RFC 9110 §15.5.6: a 405 carries the accepted methods in `Allow`.
        throw new MandateError('MANDATE_METHOD_NOT_ALLOWED', `allowed: ${methods.join(', ')}`, { allow: methods });
      }
      throw new MandateError('MANDATE_ROUTE_NOT_FOUND', `no route for ${target.path}`);
    },
  });
}
