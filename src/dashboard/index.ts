// celeriac's dashboard (a second entry point, `celeriac/dashboard`, loaded only by those who use it): a Node
// request handler serving Flower's REST API, Prometheus metrics with Flower's names and a live web page, fed by
// events and remote control. Mounts in node:http, Express, Fastify (reply.raw) and Koa (ctx.req/ctx.res).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Auth, UNAUTHENTICATED_API_MESSAGE, type AuthOptions } from './auth.js';
import { HttpError, parseRequest, sendText, type Request } from './http.js';
import { DashboardMetrics } from './metrics.js';
import { Monitor, type MonitorApp, type MonitorOptions } from './monitor.js';
import { Page } from './page.js';
import { routeApi } from './routes.js';
import type { ClusterState } from './state.js';
import type { TaskRoutesApp } from './tasks-api.js';
import { WorkerInspector } from './workers-api.js';

export { ClusterState, isAlive, taskAsDict, TASK_FIELDS, type TaskState, type WorkerState } from './state.js';
export { DashboardMetrics } from './metrics.js';
export type { AuthOptions } from './auth.js';

/** What the dashboard uses of a Celery app (any `new Celery(…)` fits). */
export type DashboardApp = MonitorApp & TaskRoutesApp & { readonly log?: { readonly logger: { warn(obj: unknown, msg?: string): void } } };

/** Options of createDashboard: Flower's options in camelCase, plus auth. */
export interface DashboardOptions extends AuthOptions, MonitorOptions {
  /** Path the handler is mounted under in a plain node:http server (e.g. '/flower'); Express strips its own. */
  prefix?: string;
  /** How long to wait for inspect replies, ms (Flower's --inspect_timeout, default 1000). */
  inspectTimeout?: number;
  /** flower_task_runtime_seconds buckets, seconds (Flower's --task_runtime_metric_buckets). */
  runtimeBuckets?: readonly number[];
  /** Where background errors go (lost broker, a worker's bad reply); default the app's logger at warn. */
  onError?: (error: unknown) => void;
}

/**
 * A mounted dashboard: call it with (req, res[, next]). With `next` (Express, Connect) a path it does not serve is
 * passed on; without, it answers 404.
 */
export interface Dashboard {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** The monitor's cluster state (Celery's events.State). */
  readonly state: ClusterState;
  /** The Prometheus metrics (its own prom-client Registry). */
  readonly metrics: DashboardMetrics;
  /** Resolves once events are consumed and workers were inspected once; rejects when the broker is unreachable. */
  readonly ready: Promise<void>;
  /** Stop consuming events and the enable_events timer (the app stays open: close it yourself). */
  close(): Promise<void>;
}

/**
 * Create the dashboard for `app` (Flower for one app): starts consuming events at once. Throws
 * ImproperlyConfigured for malformed basic-auth entries or an empty token.
 *
 * ```ts
 * const dashboard = createDashboard(app, { basicAuth: 'admin:secret' });
 * http.createServer(dashboard).listen(5555);        // or expressApp.use('/flower', dashboard)
 * ```
 */
export function createDashboard(app: DashboardApp, options: DashboardOptions = {}): Dashboard {
  const auth = new Auth(options);
  const onError = options.onError ?? ((error: unknown) => app.log?.logger.warn({ err: error }, `Dashboard: ${(error as Error)?.message ?? String(error)}`));
  const monitor = new Monitor(app, options, onError);
  const metrics = new DashboardMetrics(monitor.state, options.runtimeBuckets);
  monitor.listen((event, state) => metrics.observe(event, state));
  const inspector = new WorkerInspector(app.control, options.inspectTimeout ?? 1000, onError);
  // A worker that comes online is inspected at once, so its pool, queues and tasks are known, and is told to send
  // task events now rather than at the next 5-second enable_events.
  monitor.listen((event) => {
    if (event.type !== 'worker-online') return;
    void inspector.refresh(event.hostname).catch(onError);
    if (options.enableEvents ?? true) void app.control.broadcast('enable_events', {}, { reply: false, destination: [event.hostname] }).catch(onError);
  });
  const page = new Page(auth.pageToken);
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const ctx = { app, control: app.control, state: monitor.state, inspector, metrics };
  const ready = monitor.start().then(() => inspector.refresh().catch(onError));
  ready.catch(onError);

  const serve = async (req: Request, res: ServerResponse, next?: (error?: unknown) => void): Promise<void> => {
    if (req.path === '/healthcheck') return sendText(res, 200, 'OK');
    const api = req.path.startsWith('/api/');
    const verdict = auth.check(req.raw, api);
    if (verdict === 'api-closed') return sendText(res, 401, UNAUTHENTICATED_API_MESSAGE);
    if (verdict === 'unauthorized') return sendText(res, 401, 'Unauthorized', auth.basicEnabled ? { 'WWW-Authenticate': 'Basic realm="flower"' } : {});
    if (api) {
      if (await routeApi(ctx, req, res)) return;
    } else if (req.path === '/metrics' && req.method === 'GET') {
      const { contentType, body } = await metrics.render();
      return sendText(res, 200, body, { 'Content-Type': contentType });
    } else if (await page.serve(req, res)) return;
    if (next) return next();
    throw new HttpError(404, `Not found: ${req.method} ${req.path}`);
  };

  const handler = ((raw: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => {
    const req = parseRequest(raw, prefix);
    serve(req, res, next).catch((error: unknown) => {
      if (res.headersSent) return void res.end();
      if (error instanceof HttpError) return sendText(res, error.status, error.message);
      onError(error);
      const message = error instanceof Error ? error.message : String(error);
      sendText(res, (error as { code?: string })?.code === 'OPERATIONAL_ERROR' ? 503 : 500, message);
    });
  }) as Dashboard;
  Object.defineProperties(handler, {
    state: { value: monitor.state },
    metrics: { value: metrics },
    ready: { value: ready },
    close: { value: () => monitor.stop() },
  });
  return handler;
}
