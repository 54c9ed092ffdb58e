// The public API of celeriac: an explicit list. Anything not exported here is internal and may change.

import { Celery as CeleryApp } from './app/celery.js';
import { workerMain } from './cli/worker.js';

/**
 * The Celery application (Celery's Celery class: conf, tasks, sending, results, control; see app/celery.ts), plus
 * `workerMain`, which needs the CLI: the entry adds it here, so the app never imports the worker or the CLI and
 * nothing is wired at import time.
 */
export class Celery extends CeleryApp {
  /**
   * Start a worker for this app from code (Celery's app.worker_main), e.g. `app.workerMain(['worker', '-l', 'info'])`:
   * the `celeriac worker` options; exits the process when the worker stops.
   */
  async workerMain(argv: readonly string[] = ['worker']): Promise<void> {
    await workerMain(this, argv);
  }
}

export { sharedTask, SharedTask, currentApp, DEFAULT_BROKER_URL, type CeleryOptions } from './app/celery.js';
export type { ApplyOptions, RetryPolicy } from './task/options.js';
export type { RouteSpec, RoutesSetting, AnnotationsSetting, RouterFunction } from './app/routes.js';
export { Task, type TaskOptions, type RetryOptions, type BoundTask, type TaskClass } from './task/task.js';
export { currentExecution, type Request } from './task/context.js';
export { AsyncResult, EagerResult, type GetOptions, type ResultHandle, type ResultTuple } from './result/async-result.js';
export {
  signature, chain, group, chord, chunks, xmap, xstarmap, Signature, Chain, Group, Chord, Chunks, XMap, XStarmap, type AnySignature,
} from './canvas/index.js';
export { GroupResult, ResultSet, resultFromTuple, type JoinOptions } from './result/group-result.js';
export { Worker, type WorkerOptions } from './worker/worker.js';
export { Beat, type BeatOptions, type BeatInfo } from './beat/beat.js';
export { BaseSchedule, IntervalSchedule, schedule, type ScheduleState, type ScheduleClock, type Duration } from './beat/schedule.js';
export { Crontab, crontab, type CrontabSpec } from './beat/crontab.js';
export type { CronField } from './beat/crontab-parser.js';
export { Solar, solar, type SolarEvent } from './beat/solar.js';
export type { PeriodicTaskSpec } from './beat/entry.js';
export * as states from './states.js';
export {
  CeleryError, ImproperlyConfigured, UsageError, NotRegistered, DecodeError, ContentDisallowed, TimeoutError, OperationalError,
  UnknownScheme, BackendDisabled, ResultUnavailable, UnsupportedEncoding, MaxRetriesExceededError, TaskRevokedError,
  TimeLimitExceeded, SoftTimeLimitExceeded, WorkerLostError, ChordError, SchedulingError, InvalidCanvas, RemoteTaskError,
  TaskPredicate, Retry, Ignore, Reject, SecurityError,
} from './errors.js';
export { registerSerializer, type Serializer } from './protocol/serializers.js';
export type { SecurityOptions } from './security/setup.js';
export type { SignatureDict } from './protocol/task-message.js';
export type { ResultMeta } from './protocol/result-meta.js';
export { registerTransport } from './transports/index.js';
export type { Transport, TransportFactory, Delivery, Subscription, TransportCapabilities, OutgoingMessage, IncomingMessage } from './transports/transport.js';
export type { QueueStore, TakenMessage, BindingTable } from './transports/virtual/queue-store.js';
export { registerBackend } from './backends/index.js';
export type { ResultBackend, KeyValueStore, BackendFactory } from './backends/backend.js';
export type { Pool } from './worker/pool/pool.js';
export { getTaskLogger } from './task/logger.js';
