import type { Config } from '../config/load.ts';

/** A backend that publishes RFC 9728 metadata. */
interface ProtectedResource {
  /** The path of its resource identifier (its `audience`): calls at or below it are to this backend. */
  readonly path: string;
  /** The absolute metadata URL, for the `resource_metadata` parameter of a challenge (§5.1). */
  readonly metadataUrl: string;
  /** The metadata document. */
  readonly document: Readonly<Record<string, unknown>>;
}

/**
 * The backends' protected resource metadata (RFC 9728), built once from routes.yaml: the documents
 * served under `/.well-known/oauth-protected-resource`, and which metadata URL a refused call's
 * `WWW-Authenticate` challenge points to. The resource identifier is the backend's `audience`, as the
 * config check requires it to be a URL on the gateway, so what a client discovers is exactly what
 * the delegation token must name.
 */
export class ProtectedResources {
  readonly #byWellKnownPath: ReadonlyMap<string, ProtectedResource>;
  /** Longest path first, so the most specific resource answers for a call. */
  readonly #byPathLength: readonly ProtectedResource[];

  constructor(config: Config) {
    const resources = new Map<string, ProtectedResource>();
    for (const backend of config.backends) {
      const meta = backend.resource_metadata;
      if (!meta) continue;
      const identifier = new URL(backend.audience);
      const path = wellKnownPath(identifier);
      const document = {
        resource: backend.audience,
        // The config check requires one or the other.
        authorization_servers: meta.authorization_servers ?? [config.token_service!.issuer],
        // Only in the Authorization header: the gateway refuses tokens in queries, bodies and cookies.
        bearer_methods_supported: ['header'],
        ...(meta.scopes_supported && { scopes_supported: meta.scopes_supported }),
        ...(meta.authorization_details_types_supported && {
          authorization_details_types_supported: meta.authorization_details_types_supported,
        }),
        ...(meta.resource_name && { resource_name: meta.resource_name }),
        ...(meta.resource_documentation && { resource_documentation: meta.resource_documentation }),
        ...(meta.resource_policy_uri && { resource_policy_uri: meta.resource_policy_uri }),
        ...(meta.resource_tos_uri && { resource_tos_uri: meta.resource_tos_uri }),
      };
      resources.set(path, {
        path: identifier.pathname,
        metadataUrl: `${identifier.origin}${path}`,
        document,
      });
    }
    this.#byWellKnownPath = resources;
    this.#byPathLength = [...resources.values()].sort((a, b) => b.path.length - a.path.length);
  }

  /** The metadata document served at `path` (under /.well-known/oauth-protected-resource), if any. */
  document(path: string): Readonly<Record<string, unknown>> | undefined {
    return this.#byWellKnownPath.get(path)?.document;
  }

  /**
   * The metadata URL of the resource a call to `target` (as received: path and query) was meant for,
   * if that resource publishes one. Only a pointer for the client, taken from the raw path: a
   * refused call may not have a route at all, and nothing here decides anything.
   */
  metadataUrlFor(target: string): string | undefined {
    const path = target.split('?', 1)[0]!;
    return this.#byPathLength.find((r) => isAtOrBelow(path, r.path))?.metadataUrl;
  }
}

function isAtOrBelow(path: string, base: string): boolean {
  if (base === '/' || path === base) return true;
  return path.startsWith(base.endsWith('/') ? base : `${base}/`);
}

/** Where RFC 9728 metadata is served; a resource's own path follows it. */
export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

/** RFC 9728 §3.1: the well-known path, then the resource identifier's path (a lone `/` dropped). */
export function wellKnownPath(resource: URL): string {
  return `${RESOURCE_METADATA_PATH}${resource.pathname === '/' ? '' : resource.pathname}`;
}
