// The REST API's route table (Flower's URL patterns under /api/), dispatching to the worker and task handlers.

import type { ServerResponse } from 'node:http';
import type { Control } from '../control/client.js';
import { HttpError, type Request } from './http.js';
import type { ClusterState } from './state.js';
import { listTasks, queueLengths, revokeTask, sendTask, taskInfo, taskLimit, taskResult, taskTypes, type TaskRoutesApp } from './tasks-api.js';
import { dashboardWorkers, listWorkers, poolAction, queueAction, shutdownWorker, type WorkerInspector } from './workers-api.js';

/** Everything a route may use. */
export interface RouteContext {
  readonly app: TaskRoutesApp;
  readonly control: Control;
  readonly state: ClusterState;
  readonly inspector: WorkerInspector;
}

type Handler = (ctx: RouteContext, req: Request, res: ServerResponse, ...params: string[]) => void | Promise<void>;

/** [method, path pattern, handler]: captured groups become the handler's parameters. */
const ROUTES: ReadonlyArray<readonly [string, RegExp, Handler]> = [
  ['GET', /^\/api\/workers\/?$/, listWorkers],
  ['GET', /^\/api\/dashboard\/workers\/?$/, dashboardWorkers],
  ['POST', /^\/api\/worker\/shutdown\/(.+)$/, shutdownWorker],
  ['POST', /^\/api\/worker\/pool\/(grow|shrink|restart|autoscale)\/(.+)$/, poolAction],
  ['POST', /^\/api\/worker\/queue\/(add-consumer|cancel-consumer)\/(.+)$/, queueAction],
  ['GET', /^\/api\/tasks\/?$/, listTasks],
  ['GET', /^\/api\/task\/types\/?$/, taskTypes],
  ['GET', /^\/api\/task\/info\/(.+)$/, taskInfo],
  ['GET', /^\/api\/task\/result\/(.+)$/, taskResult],
  ['POST', /^\/api\/task\/(apply|async-apply|send-task)\/(.+)$/, sendTask],
  ['POST', /^\/api\/task\/revoke\/(.+)$/, revokeTask],
  ['POST', /^\/api\/task\/(rate-limit|timeout)\/(.+)$/, taskLimit],
  ['GET', /^\/api\/queues\/length\/?$/, queueLengths],
];

/** Serve `req` if a route matches its path: true when answered; a known path with another method answers 405. */
export async function routeApi(ctx: RouteContext, req: Request, res: ServerResponse): Promise<boolean> {
  let pathMatched = false;
  for (const [method, pattern, handler] of ROUTES) {
    const m = pattern.exec(req.path);
    if (!m) continue;
    pathMatched = true;
    if (method !== req.method) continue;
    await handler(ctx, req, res, ...m.slice(1));
    return true;
  }
  if (pathMatched) throw new HttpError(405, `Method ${req.method} is not allowed on ${req.path}.`);
  return false;
}
