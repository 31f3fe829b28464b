/**
 * `npm run bench:verify [-- EVENTS]`: how fast `mandate audit verify` recomputes the chain. Builds an
 * audit database of EVENTS (default 1,000,000) realistic events in a temporary folder, then times the
 * chain scan `mandate audit verify` runs (scanChainParallel, one worker per core up to 4) and the
 * one-thread scan, best of three runs each, and prints events per second.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '../gateway/pipeline/6-audit/event.ts';
import { AuditStore } from '../gateway/pipeline/6-audit/store.ts';
import { scanChain } from '../gateway/pipeline/6-audit/verify.ts';
import { scanChainParallel } from '../gateway/pipeline/6-audit/verify-parallel.ts';

const total = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'mandate-bench-verify-'));
const file = join(dir, 'audit.db');
try {
  const store = AuditStore.open(file);
  const start = Date.parse('2026-07-01T00:00:00Z');
  for (let done = 0; done < total; ) {
    const batch: AuditEvent[] = [];
    for (let i = 0; i < 10_000 && done < total; i++, done++) batch.push(sampleEvent(done, start + done * 10));
    store.appendBatch(batch);
    store.foldAll(batch.length);
  }
  store.close();
  process.stdout.write(`built ${total} events (${(statSync(file).size / 1e6).toFixed(0)} MB)\n`);
  for (const [name, scan] of [
    ['verify (as the CLI runs it, parallel)', () => scanChainParallel(file)],
    ['one-thread scan', async () => scanChain(file)],
  ] as const) {
    let best = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      const verdict = await scan();
      const ms = performance.now() - t0;
      if (!verdict.ok || verdict.events !== total) throw new Error(`unexpected verdict ${JSON.stringify(verdict)}`);
      best = Math.min(best, ms);
    }
    process.stdout.write(`${name}: ${Math.round(total / (best / 1000)).toLocaleString('en')} events/s (best of 3)\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** An allowed call's decision or outcome event, with values varying like real traffic. */
function sampleEvent(i: number, ms: number): AuditEvent {
  const outcome = i % 2 === 1;
  return {
    kind: outcome ? 'outcome' : 'decision',
    time: new Date(ms).toISOString(),
    correlationId: (0x1000_0000 + (i >> 1)).toString(16).padStart(32, '0'),
    user: `user-${i % 997}@example.com`,
    agent: `agent-${i % 13}`,
    actorChain: [{ sub: `agent-${i % 13}`, iss: 'https://idp.example.com' }],
    jti: `jti-${i >> 1}`,
    tokenHash: 'a'.repeat(64),
    txn: `task-${i % 5003}`,
    authorizationDetails: [{ type: 'procurement_contract', actions: ['cancel'], identifier: String(i % 100_000) }],
    intent: 'cancel my contractor agreement with vendor X',
    action: 'procurement.contract.cancel',
    resourceType: 'contract',
    resourceId: String(i % 100_000),
    method: 'POST',
    path: `/procurement/contracts/${i % 100_000}/cancel`,
    backend: 'procurement',
    decision: 'allow',
    reason: null,
    policyReasons: [],
    policyRevision: 'f'.repeat(64),
    credential: 'procurement-service-account',
    status: outcome ? 200 : null,
    durationMs: outcome ? 3 : 1,
    bytesIn: outcome ? 0 : null,
    bytesOut: outcome ? 512 : null,
    detail: null,
  };
}
