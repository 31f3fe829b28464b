import type { Config } from './config/load.ts';
import { Authenticator } from './pipeline/1-authenticate/authenticate.ts';
import { compileRouteTable, type RouteTable } from './pipeline/2-resolve/route-table.ts';
import { loadPolicyEngine, type PolicyEngine } from './pipeline/3-authorize/engine.ts';
import { loadServiceCredential, type ServiceCredential } from './pipeline/4-inject/credential.ts';
import { OpenTunnels } from './pipeline/5-forward/open-tunnels.ts';
import { UpstreamPools } from './pipeline/5-forward/pools.ts';
import { AuditLog } from './pipeline/6-audit/group-commit.ts';

/**
 * Everything a request needs, built once at start-up from a validated Config. Construction fails
 * loudly (missing secret, unreadable policy bundle, unwritable audit database) rather than starting a
 * gateway that would refuse every request.
 */
export interface Gateway {
  readonly config: Config;
  readonly authenticator: Authenticator;
  readonly routes: RouteTable;
  readonly policy: PolicyEngine;
  readonly credentials: ReadonlyMap<string, ServiceCredential>;
  readonly pools: UpstreamPools;
  /** WebSocket upgrades in progress and tunnels open; closed first on shutdown. */
  readonly tunnels: OpenTunnels;
  /** The audit trail: group commit on its own writer thread. */
  readonly audit: AuditLog;
  /** Wall clock in ms; injected so tests control time. */
  readonly now: () => number;
  close(): Promise<void>;
}

export interface GatewayOptions {
  readonly now?: () => number;
  /** Overrides gateway.audit_db (tests). */
  readonly auditDb?: string;
  readonly auditBusyTimeoutMs?: number;
}

export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const now = options.now ?? Date.now;
  const credentials = new Map(config.backends.map((b) => [b.name, loadServiceCredential(b)] as const));
  const routes = compileRouteTable(config);
  const policy = await loadPolicyEngine(config.gateway.policy_bundle, now);
  const audit = await AuditLog.open(options.auditDb ?? config.gateway.audit_db, {
    ...(options.auditBusyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.auditBusyTimeoutMs }),
  });
  const authenticator = await Authenticator.create(config, { now });
  const pools = new UpstreamPools(config.backends);
  const tunnels = new OpenTunnels();
  return {
    config,
    authenticator,
    routes,
    policy,
    credentials,
    pools,
    tunnels,
    audit,
    now,
    async close() {
      // Before the audit log closes: each tunnel's outcome event is written as it closes.
      await tunnels.closeAll();
      authenticator.close();
      await pools.close();
      await audit.close();
    },
  };
}
