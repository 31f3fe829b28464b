import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Stack, startStack } from './harness.ts';

const MB = 1024 * 1024;
/** Peak resident memory of a process (VmHWM), in bytes. */
const peakRss = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/**
 * Bounded memory, measured honestly: V8 reclaims external (Buffer) memory only after roughly 64 MB of
 * it has been allocated, so one 50 MB transfer cannot by itself tell streaming from buffering. The
 * test therefore also downloads 200 MB and asserts that the gateway's peak memory grew by far less
 * than one body: memory that does not scale with body size.
 */
describe('streaming: 50 MB each way with bounded gateway memory', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  test('upload and download 50 MB; the gateway never holds the body', async () => {
    const token = await stack.alice({ scope: 'procurement:read procurement:write' });
    // Warm up so the baseline includes the steady-state heap.
    await fetch(`${stack.url}/procurement/contracts/12345`, { headers: { authorization: `Bearer ${token}` } });
    const baseline = peakRss(stack.gateway.pid!);

    const chunk = Buffer.alloc(MB, 7);
    const expected = createHash('sha256');
    async function* body() {
      for (let i = 0; i < 50; i++) {
        expected.update(chunk);
        yield chunk;
      }
    }
    const up = await fetch(`${stack.url}/procurement/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: body(),
      duplex: 'half',
    } as RequestInit);
    assert.equal(up.status, 201);
    const receipt = (await up.json()) as { bytes: number; sha256: string };
    assert.equal(receipt.bytes, 50 * MB);
    const sent = expected.digest('hex');
    assert.equal(receipt.sha256, sent);

    for (const size of [50 * MB, 200 * MB]) {
      const down = await fetch(`${stack.url}/procurement/documents/${size}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(down.status, 200);
      let received = 0;
      for await (const part of down.body!) received += (part as Uint8Array).length;
      assert.equal(received, size);
    }

    const growth = peakRss(stack.gateway.pid!) - baseline;
    assert.ok(growth < 128 * MB, `gateway peak memory grew by ${Math.round(growth / MB)} MB for 300 MB streamed`);
    const outcomes = (await stack.auditRows()).filter(
      (r) => r.kind === 'outcome' && String(r.action).startsWith('procurement.document'),
    );
    assert.deepEqual(
      outcomes.map((o) => [o.action, o.bytes_in, o.bytes_out]),
      [
        ['procurement.document.upload', 50 * MB, Number(outcomes[0]!.bytes_out)],
        ['procurement.document.download', 0, 50 * MB],
        ['procurement.document.download', 0, 200 * MB],
      ],
    );
    // The upload's outcome names the body that went upstream, hashed as it streamed; downloads sent none.
    assert.deepEqual(
      outcomes.map((o) => (o.detail === null ? null : JSON.parse(String(o.detail)))),
      [{ body_sha256: sent }, null, null],
    );
  });
});
