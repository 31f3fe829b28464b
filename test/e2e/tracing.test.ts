import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { mintDelegationToken } from '../../gateway/dev/mint.ts';
import { tempDir } from '../temp-dir.ts';
import { ISSUER, PROCUREMENT_AUD, startTestServers, type TestServers, writeTestConfig } from './harness.ts';
import { startInProcessGateway } from './in-process-gateway.ts';

/**
 * Tracing, in-process: a real gateway server with an in-memory span exporter registered as the
 * global provider, so the spans the pipeline emits can be read back and asserted.
 */
describe('tracing: one request span per call, continuing the caller trace, one child span per stage', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  let servers: TestServers;
  let gateway: Awaited<ReturnType<typeof startInProcessGateway>>;
  let url: string;

  before(async () => {
    trace.setGlobalTracerProvider(provider);
    servers = await startTestServers();
    const { configFile } = writeTestConfig(tempDir('mandate-tracing-'), servers);
    gateway = await startInProcessGateway(configFile);
    url = gateway.url;
  });

  after(async () => {
    await gateway.close();
    await servers.close();
    await provider.shutdown();
    trace.disable();
  });

  const aliceToken = () =>
    mintDelegationToken(servers.keys.key, {
      issuer: ISSUER,
      user: 'alice',
      agents: ['procurement-agent'],
      audience: PROCUREMENT_AUD,
      scope: 'procurement:read procurement:write',
      authorizationDetails: [{ type: 'procurement_contract', actions: ['cancel'], identifier: '12345' }],
      txn: 'task-trace-1',
      intent: 'cancel my contractor agreement with vendor X',
      extra: { roles: ['procurement'] },
    });

  /**
   * The spans of one trace, once its request span has ended: it ends last, after the outcome event
   * that is written once the response has gone out.
   */
  async function spansOf(traceId: string): Promise<ReadableSpan[]> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      if (spans.some((s) => s.name === 'mandate.request')) return spans;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail(`no mandate.request span for trace ${traceId}`);
  }

  const tokens: string[] = [];

  test('an allowed call continues the incoming trace, with a child span per stage in pipeline order', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentSpanId = randomBytes(8).toString('hex');
    const token = await aliceToken();
    tokens.push(token);
    const res = await fetch(`${url}/procurement/contracts/12345/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${parentSpanId}-01` },
    });
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-mandate-correlation-id'), traceId);

    const spans = await spansOf(traceId);
    const request = spans.find((s) => s.name === 'mandate.request')!;
    assert.equal(request.spanContext().traceId, traceId);
    assert.equal(request.parentSpanContext?.spanId, parentSpanId);
    const children = spans
      .filter((s) => s.parentSpanContext?.spanId === request.spanContext().spanId)
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    assert.deepEqual(
      children.map((s) => s.name),
      [
        'mandate.authenticate',
        'mandate.resolve',
        'mandate.attributes',
        'mandate.authorize',
        'mandate.approval',
        'mandate.limits',
        'mandate.inject',
        'mandate.audit.decision',
        'mandate.forward',
        'mandate.audit.outcome',
      ],
    );
    for (const s of children) assert.notEqual(s.status.code, SpanStatusCode.ERROR, s.name);
  });

  test('a denied call ends the authorize span with an error whose message is the catalogue code', async () => {
    const token = await aliceToken();
    tokens.push(token);
    // No traceparent: the gateway starts the trace, and it must still be recorded by the SDK's
    // default (parent-based) sampler.
    const res = await fetch(`${url}/procurement/contracts/12346/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as { code: string };
    assert.equal(res.status, 403);
    assert.equal(body.code, 'MANDATE_AUTHZ_DENIED');

    const spans = await spansOf(res.headers.get('x-mandate-correlation-id')!);
    const authorize = spans.find((s) => s.name === 'mandate.authorize');
    assert.ok(authorize, 'an authorize span');
    assert.equal(authorize.status.code, SpanStatusCode.ERROR);
    assert.equal(authorize.status.message, 'MANDATE_AUTHZ_DENIED');
    assert.ok(!spans.some((s) => s.name === 'mandate.forward'), 'a denied call is never forwarded');
  });

  test('no span name, attribute, event or status carries the delegation token', () => {
    const exported = exporter.getFinishedSpans();
    assert.ok(exported.length > 0 && tokens.length === 2);
    const text = JSON.stringify(
      exported.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
    );
    for (const token of tokens) {
      assert.ok(!text.includes(token), 'the whole token');
      assert.ok(!text.includes(token.split('.')[2]!), 'its signature');
    }
  });
});
