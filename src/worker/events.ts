// The worker's events: worker-online / heartbeat every 2 s / offline always (so monitors see the worker), and
// task-* events when task events are on (-E, worker_send_task_events, or a monitor's enable_events), field for
// field as Celery's worker sends them (AMQP-WIRE.md §8, REDIS-WIRE.md §12).

import { EventDispatcher } from '../events/dispatcher.js';
import { exceptionToDoc } from '../protocol/exceptions.js';
import { pyRepr } from '../protocol/repr.js';
import { softwareInfo, workerEventFields } from '../protocol/events.js';
import type { TaskMessage } from '../protocol/task-message.js';
import type { Transport } from '../transports/transport.js';
import type { LamportClock } from '../utils/clock.js';
import { VERSION } from '../utils/version.js';
import type { WorkerState } from './state.js';

/** Seconds between worker-heartbeat events (Celery's default heartbeat interval; monitors read it as `freq`). */
export const HEARTBEAT_SECONDS = 2;
/** The `freq` Celery puts on a heartbeat sent on request (control command heartbeat). */
const REQUESTED_HEARTBEAT_FREQ = 5;

/** What the consumer reports about each task; nothing is sent while task events are off. */
export interface TaskMonitor {
  received(m: TaskMessage): void;
  started(m: TaskMessage): void;
  succeeded(m: TaskMessage, result: unknown, runtimeMs: number): void;
  failed(m: TaskMessage, error: unknown, traceback: string | null): void;
  retried(m: TaskMessage, reason: unknown): void;
  rejected(m: TaskMessage, requeue: boolean): void;
  /** Celery's task-revoked: terminated (revoke terminate, with its signal number) or expired. */
  revoked(m: TaskMessage, how: { terminated: boolean; signum: number | null; expired: boolean }): void;
}

/** The worker's event dispatcher (Celery's consumer.event_dispatcher with its 'worker' and 'task' groups). */
export class WorkerEvents implements TaskMonitor {
  private readonly dispatcher: EventDispatcher;
  private heartbeat?: NodeJS.Timeout;

  constructor(transport: Transport, hostname: string, private readonly state: WorkerState, private taskEvents: boolean, onError: (e: unknown) => void, clock?: LamportClock, exchange?: string) {
    this.dispatcher = new EventDispatcher(transport, hostname, onError, clock, exchange);
  }

  /** Whether task-* events are sent now. */
  get taskEventsEnabled(): boolean {
    return this.taskEvents;
  }

  /** Start sending task events (control enable_events); false when they were on already. */
  enableTaskEvents(): boolean {
    const changed = !this.taskEvents;
    this.taskEvents = true;
    return changed;
  }

  /** Stop sending task events (control disable_events); false when they were off already. */
  disableTaskEvents(): boolean {
    const changed = this.taskEvents;
    this.taskEvents = false;
    return changed;
  }

  async start(): Promise<void> {
    await this.dispatcher.send('worker-online', this.workerFields());
    this.heartbeat = setInterval(() => void this.dispatcher.send('worker-heartbeat', this.workerFields()), HEARTBEAT_SECONDS * 1000);
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.dispatcher.send('worker-offline', this.workerFields());
  }

  /** A heartbeat now, as Celery sends one on request: freq 5 and the software fields only. */
  async heartbeatNow(): Promise<void> {
    await this.dispatcher.send('worker-heartbeat', { freq: REQUESTED_HEARTBEAT_FREQ, ...softwareInfo(VERSION) });
  }

  private workerFields() {
    return workerEventFields(this.state.active.size, this.state.processed, HEARTBEAT_SECONDS, VERSION);
  }

  private task(type: string, m: TaskMessage, fields: Record<string, unknown> = {}): void {
    if (this.taskEvents) void this.dispatcher.send(type, { uuid: m.id, ...fields });
  }

  received(m: TaskMessage): void {
    this.task('task-received', m, {
      name: m.task, args: m.argsrepr ?? pyRepr(m.args), kwargs: m.kwargsrepr ?? pyRepr(m.kwargs), root_id: m.rootId, parent_id: m.parentId,
      retries: m.retries, eta: m.eta, expires: m.expires,
    });
  }
  started(m: TaskMessage): void {
    this.task('task-started', m);
  }
  succeeded(m: TaskMessage, result: unknown, runtimeMs: number): void {
    this.task('task-succeeded', m, { result: pyRepr(result), runtime: runtimeMs / 1000 });
  }
  failed(m: TaskMessage, error: unknown, traceback: string | null): void {
    this.task('task-failed', m, { exception: exceptionRepr(error), traceback });
  }
  retried(m: TaskMessage, reason: unknown): void {
    // Celery: the repr of the exception the retry was for ('None' without one) and the Retry's traceback.
    const exception = reason instanceof Error ? exceptionRepr(reason) : 'None';
    this.task('task-retried', m, { exception, traceback: `celery.exceptions.Retry: ${reason instanceof Error ? reason.message : String(reason)}` });
  }
  rejected(m: TaskMessage, requeue: boolean): void {
    this.task('task-rejected', m, { requeue });
  }
  revoked(m: TaskMessage, how: { terminated: boolean; signum: number | null; expired: boolean }): void {
    this.task('task-revoked', m, { terminated: how.terminated, signum: how.signum, expired: how.expired });
  }
}

/** Python's repr of an exception: `ValueError('boom')`. */
function exceptionRepr(error: unknown): string {
  const doc = exceptionToDoc(error);
  const message = doc.exc_message;
  return `${doc.exc_type}(${Array.isArray(message) ? message.map((a) => pyRepr(a)).join(', ') : pyRepr(message)})`;
}
