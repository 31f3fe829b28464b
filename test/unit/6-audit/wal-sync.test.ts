import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WalSync } from '../../../gateway/pipeline/6-audit/wal-sync.ts';
import { tempDir } from '../../temp-dir.ts';

const dir = tempDir('mandate-wal-sync-');

/** A database path whose -wal file is a real file. */
function walFile(name: string): string {
  const db = join(dir, name);
  writeFileSync(`${db}-wal`, 'frames');
  return db;
}

/** A database path whose -wal "file" is /dev/null, where fsync fails (EINVAL): a disk that cannot sync. */
function unsyncableWal(name: string): string {
  const db = join(dir, name);
  symlinkSync('/dev/null', `${db}-wal`);
  return db;
}

const synced = () => {
  let resolve!: (error: Error | undefined) => void;
  const done = new Promise<Error | undefined>((r) => {
    resolve = r;
  });
  return { done, callback: (error: Error | undefined) => resolve(error) };
};

describe('WalSync', () => {
  it('acknowledges each commit after an fsync, in commit order', async () => {
    const sync = WalSync.open(walFile('order.db'));
    const order: number[] = [];
    const all = [1, 2, 3].map((n) => {
      const s = synced();
      sync.afterCommit((error) => {
        order.push(n);
        s.callback(error);
      });
      return s.done;
    });
    assert.deepEqual(await Promise.all(all), [undefined, undefined, undefined]);
    assert.deepEqual(order, [1, 2, 3]);
    sync.close();
  });

  it('does not acknowledge a commit before an fsync has run for it', async () => {
    const sync = WalSync.open(walFile('pending.db'));
    let acknowledged = false;
    sync.afterCommit(() => {
      acknowledged = true;
    });
    assert.equal(acknowledged, false, 'acknowledged synchronously, before any fsync');
    const s = synced();
    sync.afterCommit(s.callback);
    await s.done;
    assert.equal(acknowledged, true);
    sync.close();
  });

  it("syncNow acknowledges every commit not yet acknowledged at once, the running fsync's too, and once", async () => {
    const sync = WalSync.open(walFile('now.db'));
    const results: string[] = [];
    sync.afterCommit((e) => results.push(`first ${e}`)); // starts the background fsync
    sync.afterCommit((e) => results.push(`second ${e}`)); // waits for the next one
    sync.syncNow();
    // A closing writer thread exits without waiting for the background fsync's callback: the commit
    // it was running for is covered by this later fsync, and acknowledged now.
    assert.deepEqual(results, ['first undefined', 'second undefined'], 'both, synced on this thread');
    sync.close();
    await new Promise((r) => setTimeout(r, 50)); // the background fsync has finished meanwhile
    assert.equal(results.length, 2, 'acknowledged once');
  });

  it('after close, refuses to acknowledge anything', () => {
    const sync = WalSync.open(walFile('closed.db'));
    sync.close();
    let error: Error | undefined;
    sync.afterCommit((e) => {
      error = e;
    });
    assert.match(String(error?.message), /closed/);
  });

  it('passes a failed fsync to every commit it covered, and syncNow throws it', async () => {
    const sync = WalSync.open(unsyncableWal('fails.db'));
    const s = synced();
    sync.afterCommit(s.callback);
    assert.equal(((await s.done) as NodeJS.ErrnoException | undefined)?.code, 'EINVAL');
    const waiting: (Error | undefined)[] = [];
    sync.afterCommit((e) => waiting.push(e));
    sync.afterCommit((e) => waiting.push(e));
    assert.throws(() => sync.syncNow(), { code: 'EINVAL' });
    assert.equal(waiting.length, 2, 'the commit of the running fsync, and the one waiting behind it');
    for (const e of waiting) assert.equal((e as NodeJS.ErrnoException).code, 'EINVAL');
    sync.afterCommit((e) => waiting.push(e));
    assert.throws(() => sync.close(), { code: 'EINVAL' });
  });
});
