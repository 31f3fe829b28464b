import type { IncomingMessage, ServerResponse } from 'node:http';
import { REVOCATIONS_PATH, revocationsEndpoint } from './admin/revocations-endpoint.ts';
import { APPROVALS_PATH } from './approvals/approvals.ts';
import { approvalsEndpoint } from './approvals/approvals-endpoint.ts';
import { AUDITOR_PATH, auditorEndpoint } from './auditor/auditor-endpoint.ts';
import type { Gateway } from './gateway.ts';
import { TASKS_PATH, tasksEndpoint } from './limits/tasks-endpoint.ts';
import { RESOURCE_METADATA_PATH } from './resource-metadata/protected-resources.ts';
import { resourceMetadataEndpoint } from './resource-metadata/resource-metadata-endpoint.ts';
import { serveJwks, serveMetadata } from './token-service/discovery.ts';
import { tokenEndpoint } from './token-service/token-endpoint.ts';
import { TOKEN_ENDPOINT_PATH } from './token-service/token-service.ts';

/**
 * The gateway's own endpoints — health, and (as they are built) the token service, discovery and the
 * admin and auditor surfaces. They live under prefixes no backend route may use (the config loader
 * refuses routes under RESERVED_PREFIXES), so a backend path can never shadow them, nor they a backend.
 * Everything else goes through the request pipeline.
 */
export type EndpointHandler = (gw: Gateway, req: IncomingMessage, res: ServerResponse) => Promise<void>;

interface Endpoint {
  /** Exact path, or a prefix ending in `/` that matches everything below it. */
  readonly path: string;
  readonly handler: EndpointHandler;
}

export const RESERVED_PREFIXES = ['/healthz', '/readyz', '/.well-known/', '/oauth2/', '/_mandate/'] as const;

const endpoints: readonly Endpoint[] = [
  { path: '/healthz', handler: health },
  { path: '/readyz', handler: health },
  // Admin API (gateway/admin/): authenticated by admin API key, every refusal audited.
  { path: REVOCATIONS_PATH, handler: revocationsEndpoint },
  // Token service (gateway/token-service/): RFC 8693 exchange, RFC 8414 metadata, the JWKS.
  { path: TOKEN_ENDPOINT_PATH, handler: tokenEndpoint },
  { path: '/.well-known/oauth-authorization-server', handler: serveMetadata },
  { path: '/.well-known/jwks.json', handler: serveJwks },
  // Protected resource metadata (gateway/resource-metadata/): RFC 9728, per backend that publishes it.
  { path: RESOURCE_METADATA_PATH, handler: resourceMetadataEndpoint },
  { path: `${RESOURCE_METADATA_PATH}/`, handler: resourceMetadataEndpoint },
  // Auditor page (gateway/auditor/): read-only HTML, role auditor.
  { path: AUDITOR_PATH, handler: auditorEndpoint },
  // Approvals (gateway/approvals/): the user decides held calls, by API (her IdP token) or page (login).
  { path: APPROVALS_PATH, handler: approvalsEndpoint },
  { path: `${APPROVALS_PATH}/`, handler: approvalsEndpoint },
  // Tasks (gateway/limits/): the kill switch — suspend and resume, by an admin or the task's own user.
  { path: TASKS_PATH, handler: tasksEndpoint },
];

/** The handler for one of the gateway's own endpoints, or undefined for a call to a backend. */
export function ownEndpoint(rawTarget: string): EndpointHandler | undefined {
  const path = rawTarget.split('?', 1)[0]!;
  for (const endpoint of endpoints) {
    if (endpoint.path.endsWith('/') ? path.startsWith(endpoint.path) : path === endpoint.path) return endpoint.handler;
  }
  return undefined;
}

/** /healthz: the process is up. /readyz: the policy is loaded and the audit store takes writes. */
async function health(gw: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const checks =
    req.url === '/readyz' ? { policy_revision: gw.policy.revision, audit_writable: await gw.audit.isWritable() } : {};
  const ready = !('audit_writable' in checks) || checks.audit_writable;
  const body = JSON.stringify({ status: ready ? 'ok' : 'unavailable', ...checks });
  res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body);
}
