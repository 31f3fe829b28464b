import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { AuditLog } from '../../../gateway/pipeline/6-audit/group-commit.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent } from './fixtures.ts';

const dir = tempDir('mandate-group-commit-');

const seqs = (db: string) =>
  new Database(db, { readonly: true }).prepare<[], number>('SELECT seq FROM events ORDER BY seq').pluck().all();

for (const durability of ['full', 'normal'] as const) {
  describe(`AuditLog (audit ${durability})`, () => {
    it('commits concurrent appends, each settling with its own seq, in the order appended', async () => {
      const db = join(dir, `order-${durability}.db`);
      const log = await AuditLog.open(db, { durability });
      try {
        const first = await Promise.all(
          Array.from({ length: 50 }, (_, i) => log.append(auditEvent({ correlationId: `c${i}` }))),
        );
        const second = await Promise.all(
          Array.from({ length: 50 }, (_, i) => log.append(auditEvent({ correlationId: `d${i}` }))),
        );
        assert.deepEqual(
          [...first, ...second].map((c) => c.seq),
          Array.from({ length: 100 }, (_, i) => i + 1),
        );
      } finally {
        await log.close();
      }
      assert.deepEqual(
        seqs(db),
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
    });

    it('commits an event riding along with the next hand-over, ahead of the events that gate requests', async () => {
      const db = join(dir, `riding-${durability}.db`);
      const log = await AuditLog.open(db, { durability });
      try {
        // Same turn: a gating event, then one riding along. Handed over as they were appended, the
        // gating one would come first; riding along, the outcome joins the hand-over in front.
        const gating = log.append(auditEvent({ correlationId: 'decision-2' }));
        const riding = log.appendRidingAlong(auditEvent({ kind: 'outcome', correlationId: 'outcome-1' }));
        assert.deepEqual(
          (await Promise.all([riding, gating])).map((c) => c.seq),
          [1, 2],
        );
        // Alone, with nothing to ride with, it is still committed (a quiet gateway's outcome).
        assert.equal((await log.appendRidingAlong(auditEvent({ kind: 'outcome', correlationId: 'outcome-2' }))).seq, 3);
      } finally {
        await log.close();
      }
      assert.deepEqual(seqs(db), [1, 2, 3]);
    });

    it('hands over the events riding along when it closes, without waiting for a ride', async () => {
      const db = join(dir, `riding-close-${durability}.db`);
      const log = await AuditLog.open(db, { durability });
      const riding = log.appendRidingAlong(auditEvent({ kind: 'outcome' }));
      await log.close();
      assert.deepEqual(seqs(db), [1]);
      // Acknowledged as well (at FULL, once synced), though the writer thread has exited since.
      assert.equal((await riding).seq, 1);
    });

    it('folds the WAL into the database file from a thread of its own, not only past 10,000 pages', async () => {
      const db = join(dir, `checkpoint-${durability}.db`);
      const log = await AuditLog.open(db, { durability });
      try {
        const before = statSync(db).size;
        // A few hundred pages of events: far below the writer's own checkpoint threshold, so only
        // the checkpoint thread can move them into the database file.
        for (let batch = 0; batch < 20; batch++) {
          await Promise.all(
            Array.from({ length: 50 }, (_, i) =>
              log.append(auditEvent({ correlationId: `e${batch}-${i}`, intent: 'x'.repeat(2000) })),
            ),
          );
        }
        let grown = false;
        for (let waited = 0; waited < 5000 && !grown; waited += 50) {
          await sleep(50);
          grown = statSync(db).size > before + 1_000_000;
        }
        assert.ok(grown, `database file stayed at ${statSync(db).size} bytes: the WAL was never checkpointed`);
      } finally {
        await log.close();
      }
    });
  });
}
