import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WalSync } from '../../../gateway/pipeline/6-audit/wal-sync.ts';

const dir = mkdtempSync(join(tmpdir(), 'mandate-wal-sync-'));
after(() => rmSync(dir, { recursive: true, force: true }));

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

  it('syncNow acknowledges every waiting commit at once', () => {
    const sync = WalSync.open(walFile('now.db'));
    const results: (Error | undefined)[] = [];
    sync.afterCommit((e) => results.push(e)); // starts the background fsync
    sync.afterCommit((e) => results.push(e)); // waits for the next one
    sync.syncNow();
    assert.deepEqual(results, [undefined], 'the waiting commit, synced on this thread');
    sync.close();
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
    assert.equal(waiting.length, 1, 'the commit waiting behind the running fsync');
    assert.equal((waiting[0] as NodeJS.ErrnoException).code, 'EINVAL');
    sync.afterCommit((e) => waiting.push(e));
    assert.throws(() => sync.close(), { code: 'EINVAL' });
  });
});
