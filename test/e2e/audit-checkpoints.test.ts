import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { mandateCli, type Stack, startStack } from './harness.ts';

// The gateway as users run it: checkpoints taken by the audit writer thread every N events and on
// shutdown, written to the database and to a checkpoint file elsewhere, verified by the CLI from
// routes.yaml alone.

describe('audit checkpoints from a running gateway', () => {
  let stack: Stack;
  let checkpointFile: string;
  before(async () => {
    stack = await startStack({
      editConfig: (config) => {
        config.gateway.audit_checkpoint = {
          every_events: 3,
          every_seconds: 3600,
          key_dir: './checkpoint-keys',
          file: './other-storage/checkpoints.jsonl',
        };
      },
    });
    checkpointFile = join(stack.dir, 'other-storage', 'checkpoints.jsonl');
  });
  after(() => stack.stop());

  const lines = () =>
    readFileSync(checkpointFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

  test('every 3 events a signed checkpoint is stored and appended to the file', async () => {
    const token = await stack.alice();
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${stack.url}/procurement/contracts/12345`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 200);
    }
    await stack.auditRows(); // 8 events, the last outcomes committed
    for (let attempt = 0; attempt < 50 && lines().length < 2; attempt++) await new Promise((r) => setTimeout(r, 20));
    const seqs = lines().map((c) => c.seq);
    assert.ok(seqs.length >= 2 && seqs.every((s, i) => i === 0 || s - seqs[i - 1] >= 3), seqs.join(','));
    assert.ok(existsSync(join(stack.dir, 'checkpoint-keys', 'signing-key.pem')));
  });

  test('on shutdown a last checkpoint covers the newest row, and verify --config checks it all', async () => {
    await stack.stop();
    const db = new Database(stack.auditDb, { readonly: true });
    const head = db.prepare('SELECT seq, hash FROM all_events ORDER BY seq DESC LIMIT 1').get() as {
      seq: number;
      hash: string;
    };
    const stored = db.prepare('SELECT count(*) FROM checkpoints').pluck().get();
    db.close();
    const last = lines().at(-1);
    assert.deepEqual({ seq: last.seq, hash: last.hash }, head);
    assert.equal(stored, lines().length);

    const verify = await mandateCli(['audit', 'verify', '--config', stack.configFile]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(
      verify.stdout,
      new RegExp(
        `^OK: audit chain intact, ${head.seq} events up to seq ${head.seq}, ${lines().length * 2} checkpoints verified`,
      ),
    );
    assert.equal(verify.stderr, '');
  });
});
