import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created: string[] = [];

// node --test runs each test file in a process of its own, so a folder lives as long as its file's
// tests: removed, with the databases, keys and logs in it, when that process exits. Gateways a test
// started are its children and stopped by then; files they still hold open go with the folder.
process.on('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** A new, empty folder under the OS temp folder, removed when this test process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}
