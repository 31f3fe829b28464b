/**
 * An agent doing one task for alice through Mandate, with the agent-side helper (`mandate/agent`),
 * against the `npm start` demo. In another terminal, with the demo running:
 *
 *   export USER_TOKEN=$(npm run -s mandate -- token mint --sub alice --agent portal \
 *     --aud https://mandate.dev.local/exchange --claims '{"roles":["procurement"]}')
 *   node examples/agent.ts
 *
 * USER_TOKEN stands in for the token your identity provider gives the user (the demo's dev issuer
 * plays the IdP). The agent is hr-agent, which the demo registers with the dev key in
 * data/dev-keys/ (routes.yaml `agents`). MANDATE_URL overrides http://127.0.0.1:8080.
 */
import { readFileSync } from 'node:fs';
import { delegate, MandateRefusal } from 'mandate/agent';

const userToken = process.env.USER_TOKEN;
if (!userToken) {
  console.error('USER_TOKEN is not set: see the comment at the top of examples/agent.ts');
  process.exit(2);
}
const agentKey = JSON.parse(readFileSync(new URL('../data/dev-keys/private.jwk.json', import.meta.url), 'utf8'));

// 1. The delegation for this task: alice's rights, narrowed to the task, for minutes.
const task = await delegate({
  mandate: process.env.MANDATE_URL ?? 'http://127.0.0.1:8080',
  userToken,
  agent: { id: 'hr-agent', key: agentKey },
  task: {
    resource: 'https://procurement.demo.mandate',
    scope: 'procurement:read procurement:write',
    authorizationDetails: [{ type: 'procurement_contract', actions: ['read', 'cancel'], identifier: '12345' }],
    intent: 'cancel my contractor agreement with vendor X',
  },
});
console.log(`task ${task.txn}: granted "${task.scope}", valid until ${task.expiresAt.toISOString()}`);

// 2. Tool calls: paths on Mandate; the helper adds the delegation (renewed when due) to each.
const contract = await task.fetch('/procurement/contracts/12345');
console.log(`GET  /procurement/contracts/12345        → ${contract.status} ${await contract.text()}`);
const cancel = await task.fetch('/procurement/contracts/12345/cancel', { method: 'POST' });
console.log(`POST /procurement/contracts/12345/cancel → ${cancel.status} ${await cancel.text()}`);

// 3. Drift: another contract than the user asked about. Mandate refuses; nothing reaches the backend.
try {
  await task.fetch('/procurement/contracts/12346/cancel', { method: 'POST' });
} catch (e) {
  if (!(e instanceof MandateRefusal)) throw e;
  console.log(`POST /procurement/contracts/12346/cancel → refused: ${e.status} ${e.code} [${e.reasons.join(', ')}]`);
  console.log(`  ask the user rather than guess; operators find it by correlation id ${e.correlationId}`);
}
console.log(`the task's audit trail: npm run -s mandate -- audit query --db data/audit.db task --txn ${task.txn}`);
