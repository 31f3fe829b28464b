import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { OpenTunnels } from '../../../gateway/pipeline/5-forward/open-tunnels.ts';

test('closeAll closes every tracked connection and waits until each one is fully handled', async () => {
  const tunnels = new OpenTunnels();
  const handledAfterClose: string[] = [];
  const sockets = ['a', 'b'].map((name) => {
    const socket = new PassThrough();
    // Like handleUpgrade: settles only after the connection closed and its outcome was recorded.
    const handled = once(socket, 'close').then(async () => {
      await new Promise((r) => setTimeout(r, 10));
      handledAfterClose.push(name);
    });
    tunnels.track(socket, handled);
    return socket;
  });
  await tunnels.closeAll();
  assert.ok(sockets.every((s) => s.destroyed));
  assert.deepEqual(handledAfterClose.sort(), ['a', 'b']);
});

test('a connection that finished on its own is no longer tracked', async () => {
  const tunnels = new OpenTunnels();
  const socket = new PassThrough();
  tunnels.track(socket, Promise.resolve());
  await new Promise((r) => setImmediate(r));
  await tunnels.closeAll();
  assert.equal(socket.destroyed, false);
});
