import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Claims } from '../demo.ts';

/** What the chapter needs from the demo: where the gateway is, and a way to sign alice's agent's token. */
export interface RunawayContext {
  readonly gatewayUrl: string;
  readonly root: string;
  readonly mint: (claims: Claims) => Promise<string>;
}

/**
 * The demo's "runaway agent stopped" chapter (issue #4, behavioural limits): alice's agent, on a task
 * of its own, loops on one read as fast as it can. routes.yaml allows 60 calls per task per minute:
 * the 61st is refused with 429 and the task is suspended, so every call after it is refused at once
 * (403) and the backend sees exactly 60. An operator looks, and resumes the task with
 * `mandate task resume`; the agent's next call goes through. Returns the problems found, if any.
 */
export async function runawayChapter(ctx: RunawayContext, alice: Claims): Promise<string[]> {
  const txn = `${alice.txn}-runaway`;
  const token = await ctx.mint({ ...alice, txn });
  const read = () =>
    fetch(`${ctx.gatewayUrl}/procurement/contracts/12345`, { headers: { authorization: `Bearer ${token}` } }).then(
      async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }),
    );

  console.log(`\nA runaway agent: alice's agent loops on one read, 100 calls as fast as it can (task ${txn}).`);
  const started = Date.now();
  const answers: { status: number; body: Record<string, unknown> }[] = [];
  for (let i = 0; i < 100; i += 10) answers.push(...(await Promise.all(Array.from({ length: 10 }, read))));
  const count = (status: number) => answers.filter((a) => a.status === status).length;
  const crossing = answers.find((a) => a.status === 429)?.body;
  console.log(`  ${answers.length} calls in ${Date.now() - started} ms:`);
  console.log(`  ${count(200)} forwarded (200)`);
  console.log(
    `  ${count(429)} refused 429 ${crossing?.code ?? ''} — limit ${crossing?.limit ?? '?'}: the task is suspended`,
  );
  console.log(`  ${count(403)} refused 403 MANDATE_TASK_SUSPENDED — every token of the task, at once`);

  const problems: string[] = [];
  if (count(200) !== 60) problems.push(`runaway: expected 60 calls forwarded, saw ${count(200)}`);
  if (count(429) !== 1 || crossing?.limit !== 'task.requests')
    problems.push('runaway: expected one 429 naming task.requests');
  if (count(403) !== 39) problems.push(`runaway: expected 39 calls refused as suspended, saw ${count(403)}`);

  console.log(`  The operator resumes it: mandate task resume ${txn} --reason "checked with alice"`);
  execFileSync(
    process.execPath,
    [
      join(ctx.root, 'gateway/main.ts'),
      'task',
      'resume',
      txn,
      '--reason',
      'checked with alice',
      '--config',
      join(ctx.root, 'routes.yaml'),
    ],
    { stdio: 'ignore' },
  );
  // The gateway picks up changes made by other processes within a second.
  await sleep(1500);
  const after = await read();
  console.log(`  The agent's next call: ${after.status} — a fresh budget.`);
  if (after.status !== 200) problems.push(`runaway: after resume the call answered ${after.status}`);
  return problems;
}
