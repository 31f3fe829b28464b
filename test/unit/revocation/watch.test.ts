import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RevocationStore } from '../../../gateway/revocation/revocation-store.ts';
import { Revocations } from '../../../gateway/revocation/revocations.ts';
import { tempDir } from '../../temp-dir.ts';
import { T, token } from './fixtures.ts';

const stateDb = () => join(tempDir('mandate-state-'), 'state.db');

test('watch: told once when a revocation reaches the token, here or from another process; never after stop', async () => {
  const file = stateDb();
  const revocations = Revocations.open(file, { pollMs: 20 });
  const other = RevocationStore.open(file);
  try {
    const told: string[] = [];
    revocations.watch(token({ jti: 'a', txn: 'task-a' }), () => told.push('a'));
    revocations.watch(token({ jti: 'b', txn: 'task-b', agents: ['rogue'] }), () => told.push('b'));
    const stopC = revocations.watch(token({ jti: 'c', txn: 'task-c' }), () => told.push('c'));
    revocations.watch(token({ jti: 'd', txn: 'task-d' }), () => told.push('d'));

    revocations.revoke({ target: 'txn', value: 'task-a', reason: 'r' }, 'ops');
    assert.deepEqual(told, ['a'], 'before revoke returns');
    revocations.revoke({ target: 'txn', value: 'task-a', reason: 'again' }, 'ops');
    assert.deepEqual(told, ['a'], 'once');

    stopC();
    revocations.revoke({ target: 'jti', value: 'c', reason: 'r' }, 'ops');
    other.insert({ target: 'agent', value: 'rogue', reason: 'r' }, 'cli:root', T * 1000, null);
    for (let i = 0; i < 50 && told.length < 2; i++) await sleep(20);
    assert.deepEqual(told, ['a', 'b'], 'the other process within the poll; c no longer watched; d not revoked');

    let immediate = false;
    revocations.watch(token({ jti: 'z', txn: 'task-a' }), () => (immediate = true));
    assert.equal(immediate, true, 'already revoked: told at once');
  } finally {
    other.close();
    revocations.close();
  }
});
