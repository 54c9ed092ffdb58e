// What the remote-control commands need from the worker: a narrow seam, so the handlers read and change worker
// state without holding the whole Worker (and tests can drive them with a small fake). Types only.

import type { PoolStats } from '../pool/pool.js';
import type { WorkerState } from '../state.js';
import type { LamportClock } from '../../utils/clock.js';
import type { Logger } from '../../utils/logger.js';

/** A queue the worker consumes, as kombu's Queue describes it (what active_queues reports). */
export interface ConsumedQueue {
  readonly name: string;
  readonly exchange: string;
  readonly exchangeType: string;
  readonly routingKey: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  /** x-max-priority, when declared. */
  readonly maxPriority: number | null;
  /** Other queue arguments it was declared with (x-queue-type …). */
  readonly queueArguments?: Readonly<Record<string, unknown>>;
}

/** The task options a command reads or reports (registered's task info items, rate and time limits). */
export interface ControlTask {
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** The worker's task-event switch and on-demand heartbeat (absent when the broker cannot broadcast). */
export interface ControlEvents {
  readonly taskEventsEnabled: boolean;
  enableTaskEvents(): boolean;
  disableTaskEvents(): boolean;
  heartbeatNow(): Promise<void>;
}

/** What the remote-control commands read and change in the worker (Celery's Panel state): the Worker provides it. */
export interface ControlHost {
  readonly hostname: string;
  readonly state: WorkerState;
  readonly logger: Logger;
  /** The worker's Lamport clock, shared with its events. */
  readonly clock: LamportClock;
  /** celeriac's version (report, stats). */
  readonly version: string;
  /** Reads a Celery setting by name. */
  setting(name: string): unknown;
  /** The settings as Celery's conf.table(): changed ones, or all with `withDefaults`; secrets censored. */
  configTable(withDefaults: boolean): Record<string, unknown>;
  /** Registered task names, and a task by name (undefined when unknown). */
  taskNames(): readonly string[];
  task(name: string): ControlTask | undefined;
  /** The broker URL (the password is dropped before anything is reported). */
  readonly brokerUrl: string;
  /** The result backend URL, or null. */
  readonly backendUrl: string | null;
  readonly poolKind: 'async' | 'solo' | 'threads' | 'prefork';
  /** Tasks run at once now (pool_grow/pool_shrink change it). */
  readonly concurrency: number;
  /** The autoscale range, when the worker runs with --autoscale. */
  readonly autoscaleLimits: { readonly max: number; readonly min: number } | null;
  poolStats(): PoolStats | undefined;
  readonly prefetchCount: number;
  readonly events: ControlEvents | undefined;
  /** The queues consumed now. */
  queues(): readonly ConsumedQueue[];
  /** Declare and start consuming a queue. */
  addConsumer(queue: ConsumedQueue): Promise<void>;
  /** Stop consuming a queue; false when it was not consumed. */
  cancelConsumer(name: string): Promise<boolean>;
  /** Flag ids revoked; with terminate, stop those running. Returns the ids that were running and got stopped. */
  revoke(ids: readonly string[], terminate: boolean): string[];
  /** Run-time rate limit of a task (null removes it); throws on a malformed rate. */
  setRateLimit(taskName: string, limit: string | number | null): void;
  /** The rate limit in force for a task (run-time one first). */
  rateLimitOf(taskName: string): string | number | null;
  /** Run-time time limits of a task, seconds. */
  setTimeLimits(taskName: string, soft: number | null, hard: number | null): void;
  /** Grow (n > 0) or shrink (n < 0) the pool; throws when this pool cannot change size. */
  resizePool(n: number): void;
  /** Replace every pool child; throws when the pool cannot restart. */
  restartPool(): Promise<void>;
  /** Change the autoscale range; returns the range in force. */
  autoscale(max: number | null, min: number | null): { max: number; min: number };
  /** Warm shutdown, after the reply (if any) went out. */
  shutdown(): void;
}
