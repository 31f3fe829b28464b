import { AdminKeyring } from './admin/admin-keyring.ts';
import { type Approvals, openApprovals } from './approvals/approvals.ts';
import type { Config } from './config/load.ts';
import { Limits } from './limits/limits.ts';
import { recordTasksEnded } from './limits/task-event.ts';
import { Authenticator } from './pipeline/1-authenticate/authenticate.ts';
import { compileRouteTable, type RouteTable } from './pipeline/2-resolve/route-table.ts';
import { loadPolicyEngine, type PolicyEngine } from './pipeline/3-authorize/engine.ts';
import { loadServiceCredential, type ServiceCredential } from './pipeline/4-inject/credential.ts';
import { OpenTunnels } from './pipeline/5-forward/open-tunnels.ts';
import { UpstreamPools } from './pipeline/5-forward/pools.ts';
import { auditCheckpointOptions } from './pipeline/6-audit/checkpoint-config.ts';
import { AuditLog } from './pipeline/6-audit/group-commit.ts';
import { auditSegmentOptions } from './pipeline/6-audit/segment-config.ts';
import { ProtectedResources } from './resource-metadata/protected-resources.ts';
import { Revocations } from './revocation/revocations.ts';
import { createTokenService, type TokenService } from './token-service/token-service.ts';

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
  /** Admin API keys (routes.yaml `admin`), as digests; undefined when the admin API is off. See admin/admin-auth.ts. */
  readonly adminKeys: AdminKeyring | undefined;
  /**
   * Revoked users, tasks, agents and token ids (gateway/revocation/), checked in memory on every proxied
   * request and at the token endpoint: `gw.revocations.isRevoked({ jti, user, agents, txn, issuedAtSeconds })`.
   */
  readonly revocations: Revocations;
  /** The token service (gateway/token-service/); undefined when routes.yaml has no token_service. */
  readonly tokenService: TokenService | undefined;
  /** Calls held for their user's approval (gateway/approvals/): the store, the approvers' IdPs, page logins. */
  readonly approvals: Approvals;
  /**
   * Behavioural limits and task suspensions (gateway/limits/): counted in memory, reserved in the state
   * database; `gw.limits.suspensions.isSuspended(txn)` on every proxied request and at the token endpoint.
   */
  readonly limits: Limits;
  /** Backends' RFC 9728 metadata (gateway/resource-metadata/), and the challenge's pointer to it. */
  readonly resources: ProtectedResources;
  close(): Promise<void>;
}

export interface GatewayOptions {
  readonly now?: () => number;
  /** How often revocations stored by another process are picked up (default 1000 ms). */
  readonly revocationPollMs?: number;
  /** Overrides gateway.audit_db (tests). */
  readonly auditDb?: string;
  readonly auditBusyTimeoutMs?: number;
}

export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const now = options.now ?? Date.now;
  // What start-up has opened so far (threads, timers, sockets), closed in reverse if a later step
  // fails: a gateway that cannot start must not leave a process that never exits.
  const opened: (() => unknown)[] = [];
  try {
    const credentials = new Map(config.backends.map((b) => [b.name, loadServiceCredential(b)] as const));
    const adminKeys = AdminKeyring.load(config.admin);
    const revocations = Revocations.open(config.gateway.state_db, {
      now,
      tokenLimits: config.gateway.tokens,
      ...(options.revocationPollMs === undefined ? {} : { pollMs: options.revocationPollMs }),
    });
    opened.push(() => revocations.close());
    const audit = await AuditLog.open(
      options.auditDb ?? config.gateway.audit_db,
      {
        durability: config.gateway.audit_durability,
        ...(options.auditBusyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.auditBusyTimeoutMs }),
      },
      auditCheckpointOptions(config),
      auditSegmentOptions(config),
    );
    opened.push(() => audit.close());
    const limits = Limits.open(config.gateway.state_db, config.limits, {
      now,
      ...(options.revocationPollMs === undefined ? {} : { pollMs: options.revocationPollMs }),
      onTasksEnded: (tasks, atMs, idleDays) => recordTasksEnded(audit, tasks, atMs, idleDays),
    });
    opened.push(() => limits.close());
    const routes = compileRouteTable(config);
    const policy = await loadPolicyEngine(config.gateway.policy_bundle, now);
    // Before the authenticator: the proxy trusts Mandate's own issuer with the token service's keys.
    const tokenService = await createTokenService(config, now);
    opened.push(() => tokenService?.close());
    // Approvers authenticate with the identity providers the token service trusts for subject tokens.
    const approvals = openApprovals(config, tokenService?.identityProviders ?? new Map(), now);
    opened.push(() => approvals.close());
    const authenticator = await Authenticator.create(config, { now, ownIssuer: tokenService?.ownIssuer });
    opened.push(() => authenticator.close());
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
      adminKeys,
      revocations,
      tokenService,
      approvals,
      limits,
      resources: new ProtectedResources(config),
      async close() {
        // Before the audit log closes: each tunnel's outcome event is written as it closes.
        await tunnels.closeAll();
        authenticator.close();
        tokenService?.close();
        approvals.close();
        await pools.close();
        try {
          revocations.close();
          // Before the audit log: the limits' hourly clean-up reports the tasks it ends there.
          limits.close();
        } finally {
          await audit.close();
        }
      },
    };
  } catch (e) {
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch {
        // The start-up error is the one worth reporting.
      }
    }
    throw e;
  }
}
