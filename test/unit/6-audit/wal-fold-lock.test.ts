import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { sealInto } from '../../../gateway/pipeline/6-audit/seal.ts';
import { AuditStore } from '../../../gateway/pipeline/6-audit/store.ts';
import { WalFoldLock } from '../../../gateway/pipeline/6-audit/wal-fold-lock.ts';
import { tempDir } from '../../temp-dir.ts';
import { auditEvent } from './fixtures.ts';

// The real checkpoint thread (wal-checkpoint-thread.ts) against the real seal (seal.ts): a seal needs
// the file to itself, and the lock keeps the thread's checkpoints out of its way.

const dir = tempDir('mandate-wal-fold-');

function checkpointThread(file: string, lock: WalFoldLock, intervalMs: number): Worker {
  return new Worker(new URL('../../../gateway/pipeline/6-audit/wal-checkpoint-thread.ts', import.meta.url), {
    workerData: { file, intervalMs, foldLock: lock.shared },
    // A checkpoint every few milliseconds meets the test's own writes: its SQLITE_BUSY warnings are expected.
    env: { ...process.env, MANDATE_LOG_LEVEL: 'error' },
  });
}

async function stop(worker: Worker): Promise<void> {
  const exited = new Promise((done) => worker.once('exit', done));
  worker.postMessage({ close: true });
  await exited;
}

/** An active file with `count` events, all still in its WAL (no checkpoint has run). */
function activeFile(file: string, count: number): void {
  const store = AuditStore.open(file, { durability: 'normal', walAutocheckpointPages: 1_000_000 });
  store.appendBatch(Array.from({ length: count }, (_, i) => auditEvent({ jti: `jti-${i}` })));
  store.close();
}

describe('WalFoldLock', () => {
  it('the checkpoint thread leaves the WAL alone while the lock is held, and folds it once released', async () => {
    const file = join(dir, 'held.db');
    const store = AuditStore.open(file, { durability: 'normal', walAutocheckpointPages: 1_000_000 });
    store.appendBatch(Array.from({ length: 200 }, (_, i) => auditEvent({ jti: `jti-${i}` })));
    const before = statSync(file).size;
    const lock = WalFoldLock.create();
    assert.equal(lock.acquire(1000), true);
    const thread = checkpointThread(file, lock, 5);
    try {
      await sleep(300);
      assert.equal(statSync(file).size, before, 'checkpointed while the lock was held');
      lock.release();
      const deadline = Date.now() + 5000;
      while (statSync(file).size === before && Date.now() < deadline) await sleep(20);
      assert.ok(statSync(file).size > before, 'the WAL was never folded after the lock was released');
    } finally {
      await stop(thread);
      store.close();
    }
  });

  it('a seal that takes the lock never meets a checkpoint in progress', async () => {
    const file = join(dir, 'sealed.db');
    const lock = WalFoldLock.create();
    // A checkpoint every millisecond: without the lock most seals find the file open and fail.
    activeFile(file, 100);
    const thread = checkpointThread(file, lock, 1);
    try {
      for (let i = 0; i < 20; i++) {
        if (!existsSync(file)) activeFile(file, 100);
        await sleep(5);
        assert.equal(lock.acquire(2000), true, 'the checkpoint thread kept the lock');
        try {
          const segment = sealInto(file, 100);
          rmSync(segment, { force: true });
        } finally {
          lock.release();
        }
      }
    } finally {
      await stop(thread);
    }
  });

  it('acquire gives up after its timeout while another thread holds the lock', () => {
    const lock = WalFoldLock.create();
    const other = WalFoldLock.from(lock.shared);
    assert.equal(other.tryAcquire(), true);
    const started = performance.now();
    assert.equal(lock.acquire(50), false);
    assert.ok(performance.now() - started >= 45);
    other.release();
    assert.equal(lock.acquire(50), true);
  });
});
