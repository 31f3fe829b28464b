import assert from 'node:assert/strict';
import { test } from 'node:test';
import { continueOrStartTrace, newTraceId } from '../../../gateway/telemetry/trace-context.ts';

test('a new trace id starts with the time in ms, so ids sort by arrival; the rest is random', () => {
  const ids = [newTraceId(1_767_225_600_000), newTraceId(1_767_225_600_001), newTraceId(1_767_225_600_001)];
  for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(ids[0]!.slice(0, 12), (1_767_225_600_000).toString(16).padStart(12, '0'));
  assert.ok(ids[0]! < ids[1]! && ids[0]! < ids[2]!, 'later ms, larger id');
  // Same millisecond: the random tail tells them apart (W3C: the right-most 7 bytes are random).
  assert.notEqual(ids[1], ids[2]);
  const tails = new Set(Array.from({ length: 1000 }, () => newTraceId(0).slice(-14)));
  assert.equal(tails.size, 1000);
});

test('a trace started by the gateway uses such an id; a valid incoming one is kept as is', () => {
  const before = Date.now();
  const started = continueOrStartTrace(undefined);
  assert.equal(started.continued, false);
  const ms = Number.parseInt(started.traceId.slice(0, 12), 16);
  assert.ok(ms >= before && ms <= Date.now());
  const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  assert.equal(continueOrStartTrace(incoming).traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
});
