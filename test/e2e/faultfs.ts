import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from '../temp-dir.ts';
import { ROOT } from './harness.ts';

/**
 * A folder on a real FUSE mount (test/faultfs, built by `npm test`'s set-up) that passes everything
 * through to a folder on disk, except that every fsync fails with EIO while `failSyncs` is on: a disk
 * that takes writes but can no longer make them durable. Needs /dev/fuse and the right to mount
 * (root, or fusermount3).
 */
export interface FaultyDisk {
  /** The mounted folder: put the files under test here. */
  readonly dir: string;
  failSyncs(on: boolean): void;
  unmount(): Promise<void>;
}

export async function mountFaultyDisk(): Promise<FaultyDisk> {
  const root = tempDir('mandate-faultfs-');
  const [dir, backing, flag] = [join(root, 'mnt'), join(root, 'disk'), join(root, 'fail-fsync')];
  mkdirSync(dir);
  mkdirSync(backing);
  // stdin stays open for as long as this process lives: faultfs unmounts when it closes.
  const faultfs: ChildProcess = spawn(join(ROOT, '.tools/bin/faultfs'), [dir, backing, flag], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  faultfs.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
  await new Promise<void>((mounted, failed) => {
    createInterface({ input: faultfs.stdout! }).on('line', (line) => {
      if (line === 'mounted') mounted();
    });
    faultfs.once('error', failed);
    faultfs.once('exit', (code) => failed(new Error(`faultfs exited ${code}: ${stderr.join('')}`)));
  });
  return {
    dir,
    failSyncs(on) {
      if (on) writeFileSync(flag, '');
      else rmSync(flag, { force: true });
    },
    async unmount() {
      if (faultfs.exitCode !== null || faultfs.signalCode !== null) return;
      const exited = once(faultfs, 'exit');
      faultfs.kill('SIGTERM');
      await exited;
    },
  };
}
