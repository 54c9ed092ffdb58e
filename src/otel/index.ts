// OpenTelemetry traces for celeriac (a second entry point, `celeriac/otel`): producer and worker spans named and
// tagged as Python's opentelemetry-instrumentation-celery names them, with the W3C traceparent carried in the task
// message's headers as it carries it, so one trace runs Node client → Python worker → Node worker. Opt-in: nothing
// loads @opentelemetry/api (an optional peer) until instrumentTracing() is called.

import type { SignalPayloads, Signals } from '../app/signals.js';
import { ImproperlyConfigured } from '../errors.js';
import { currentExecution } from '../task/context.js';
import { VERSION } from '../utils/version.js';

/** What instrumentTracing uses of an app (any `new Celery(…)` fits). */
export interface TracedApp {
  readonly signals: Signals;
}

/** Options of instrumentTracing. */
export interface TracingOptions {
  /** A TracerProvider (@opentelemetry/api's interface); default the global one (`trace.getTracerProvider()`). */
  tracerProvider?: unknown;
}

/** The span attributes Python's instrumentation sets (celery.action, celery.task_name, messaging.message.id …). */
export const ATTRIBUTES = {
  action: 'celery.action',
  taskName: 'celery.task_name',
  state: 'celery.state',
  hostname: 'celery.hostname',
  retryReason: 'celery.retry.reason',
  messageId: 'messaging.message.id',
  destination: 'messaging.destination',
} as const;

type Api = typeof import('@opentelemetry/api');
type Span = import('@opentelemetry/api').Span;

/**
 * Trace every task this app sends and runs (Python's CeleryInstrumentor().instrument()): a PRODUCER span
 * `apply_async/<task>` around each send, with the context injected into the message headers (traceparent,
 * tracestate: the global propagator's fields), and a CONSUMER span `run/<task>` around each run, child of the
 * context its message carried (from a celeriac or a Python client). A task sent from inside a running task is a
 * child of that task's run span. Failures set the span's status to ERROR and record the exception.
 *
 * Resolves with a function that removes the instrumentation. Rejects with ImproperlyConfigured when
 * @opentelemetry/api is not installed. Call it where tasks run too: in the app module for pool children.
 */
export async function instrumentTracing(app: TracedApp, options: TracingOptions = {}): Promise<() => void> {
  let api: Api;
  try {
    api = await import('@opentelemetry/api');
  } catch (error) {
    throw new ImproperlyConfigured('Tracing needs @opentelemetry/api: npm install @opentelemetry/api (and an OpenTelemetry SDK to export spans).', { cause: error });
  }
  const provider = (options.tracerProvider as import('@opentelemetry/api').TracerProvider | undefined) ?? api.trace.getTracerProvider();
  const tracer = provider.getTracer('celeriac', VERSION);
  const publishing = new Map<string, Span>();
  const running = new Map<string, Span>();
  const getter: import('@opentelemetry/api').TextMapGetter<Readonly<Record<string, unknown>>> = {
    keys: (carrier) => Object.keys(carrier),
    get: (carrier, key) => {
      const value = carrier[key] ?? (carrier.headers as Record<string, unknown> | null | undefined)?.[key];
      return typeof value === 'string' ? value : undefined;
    },
  };

  const beforePublish = ({ name, taskId, headers }: SignalPayloads['before_task_publish']) => {
    const parentTask = currentExecution()?.request.id;
    const parentSpan = parentTask ? running.get(parentTask) : undefined;
    const parent = parentSpan ? api.trace.setSpan(api.context.active(), parentSpan) : api.context.active();
    const span = tracer.startSpan(`apply_async/${name}`, {
      kind: api.SpanKind.PRODUCER,
      attributes: { [ATTRIBUTES.action]: 'apply_async', [ATTRIBUTES.messageId]: taskId, [ATTRIBUTES.taskName]: name },
    }, parent);
    publishing.set(taskId, span);
    api.propagation.inject(api.trace.setSpan(parent, span), headers, {
      set: (carrier, key, value) => {
        carrier[key] = value;
      },
    });
  };
  const afterPublish = ({ taskId, queue }: SignalPayloads['after_task_publish']) => {
    const span = publishing.get(taskId);
    publishing.delete(taskId);
    span?.setAttribute(ATTRIBUTES.destination, queue);
    span?.end();
  };
  const prerun = ({ name, taskId, request }: SignalPayloads['task_prerun']) => {
    const carried = api.propagation.extract(api.ROOT_CONTEXT, request, getter);
    const span = tracer.startSpan(`run/${name}`, { kind: api.SpanKind.CONSUMER }, carried);
    running.set(taskId, span);
    const hostname = request.hostname;
    if (typeof hostname === 'string') span.setAttribute(ATTRIBUTES.hostname, hostname);
  };
  const failure = ({ taskId, error }: SignalPayloads['task_failure']) => {
    const span = running.get(taskId);
    if (!span) return;
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  };
  const retry = ({ taskId, reason }: SignalPayloads['task_retry']) => {
    running.get(taskId)?.setAttribute(ATTRIBUTES.retryReason, String(reason));
  };
  const postrun = ({ name, taskId, state }: SignalPayloads['task_postrun']) => {
    const span = running.get(taskId);
    running.delete(taskId);
    if (!span) return;
    span.setAttributes({ [ATTRIBUTES.action]: 'run', [ATTRIBUTES.state]: state, [ATTRIBUTES.taskName]: name, [ATTRIBUTES.messageId]: taskId });
    span.end();
  };
  const disconnect = [
    app.signals.connect('before_task_publish', beforePublish),
    app.signals.connect('after_task_publish', afterPublish),
    app.signals.connect('task_prerun', prerun),
    app.signals.connect('task_failure', failure),
    app.signals.connect('task_retry', retry),
    app.signals.connect('task_postrun', postrun),
  ];
  return () => {
    for (const off of disconnect) off();
  };
}
