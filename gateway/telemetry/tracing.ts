import {
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { newSpanId, type TraceContext } from './trace-context.ts';

/**
 * OpenTelemetry spans, instrumented by hand through @opentelemetry/api (auto-instrumentation measured
 * 50–65% slower). `mandate serve` registers an OTLP exporter only when OTEL_EXPORTER_OTLP_ENDPOINT is
 * set, tests register an in-memory one. Without a registered provider the stages skip spans entirely:
 * the API's no-op path still allocated a tracer, a span and a promise wrapper per stage, eight stages
 * a request (measured ≈ 6 µs per request on the benchmark).
 */
function tracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  // The API hands out its proxy provider until one is registered, and delegates to it after.
  return provider instanceof ProxyTracerProvider
    ? provider.getDelegateTracer('mandate')
    : provider.getTracer('mandate');
}

/** What a request carries when nothing records spans: never exported, never read. */
const UNTRACED = { span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT), ctx: ROOT_CONTEXT };

/** Starts the request's server span as a child of the caller's trace context. */
export function startRequestSpan(traceContext: TraceContext, name: string): { span: Span; ctx: Context } {
  const recorder = tracer();
  if (!recorder) return UNTRACED;
  const parent = trace.setSpanContext(context.active(), {
    traceId: traceContext.traceId,
    // A new trace still needs a syntactically valid parent for the API; it is never exported.
    spanId: traceContext.parentSpanId ?? newSpanId(),
    traceFlags: traceContext.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
  const span = recorder.startSpan(name, { kind: SpanKind.SERVER }, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}

/** Runs one pipeline stage inside its own child span; errors are recorded and rethrown. */
export function inStage<T>(ctx: Context, name: string, run: () => T): T {
  const recorder = tracer();
  if (!recorder) return run();
  const span = recorder.startSpan(name, undefined, ctx);
  try {
    const result = run();
    if (result instanceof Promise) {
      return result.then(
        (v) => {
          span.end();
          return v;
        },
        (e: unknown) => {
          endWithError(span, e);
          throw e;
        },
      ) as T;
    }
    span.end();
    return result;
  } catch (e) {
    endWithError(span, e);
    throw e;
  }
}

function endWithError(span: Span, e: unknown): void {
  const code = (e as { code?: unknown }).code;
  span.setStatus({ code: 2, message: typeof code === 'string' ? code : 'error' });
  span.end();
}

/** The span id to advertise upstream in `traceparent`: the request span's, or a fresh one when not recording. */
export const upstreamSpanId = (span: Span): string => (span.isRecording() ? span.spanContext().spanId : newSpanId());
