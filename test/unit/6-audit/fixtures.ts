import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AuditEvent } from '../../../gateway/pipeline/6-audit/event.ts';

/** A complete allowed-call decision event; override what the test is about. */
export function auditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    kind: 'decision',
    time: '2026-07-01T10:00:00.000Z',
    correlationId: '4bf92f3577b34da6a3ce929d0e0e4736',
    user: 'alice@example.com',
    agent: 'procurement-bot',
    actorChain: [{ sub: 'procurement-bot', iss: 'https://idp.example.com' }],
    jti: 'jti-1',
    tokenHash: 'a'.repeat(64),
    txn: 'task-42',
    authorizationDetails: [{ type: 'purchase_order', actions: ['create'], limit: 5000 }],
    intent: 'Order three laptops for the new hires',
    action: 'purchase_order.create',
    resourceType: 'purchase_order',
    resourceId: 'po-1001',
    method: 'POST',
    path: '/api/orders',
    backend: 'procurement',
    decision: 'allow',
    reason: null,
    policyReasons: [],
    policyRevision: 'rev-1',
    credential: 'procurement-api-key',
    status: null,
    durationMs: null,
    bytesIn: null,
    bytesOut: null,
    detail: null,
    ...overrides,
  };
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the real `mandate` command line (a separate Node process) and collects its output. */
export function runMandate(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['gateway/main.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
