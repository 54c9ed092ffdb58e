// The worker's events: worker-online / heartbeat every 2 s / offline always (so monitors see the worker), and
// task-* events when task events are on (-E, worker_send_task_events), in the shape Flower reads.

import { EventDispatcher } from '../events/dispatcher.js';
import { pyRepr } from '../protocol/repr.js';
import { workerEventFields } from '../protocol/events.js';
import type { TaskMessage } from '../protocol/task-message.js';
import type { Transport } from '../transports/transport.js';
import { VERSION } from '../utils/version.js';
import type { WorkerState } from './state.js';
import { exceptionToDoc } from '../protocol/exceptions.js';

const HEARTBEAT_SECONDS = 2;

/** What the consumer reports about each task; a no-op when task events are off. */
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

export class WorkerEvents implements TaskMonitor {
  private readonly dispatcher: EventDispatcher;
  private heartbeat?: NodeJS.Timeout;

  constructor(transport: Transport, hostname: string, private readonly state: WorkerState, private readonly taskEvents: boolean, onError: (e: unknown) => void) {
    this.dispatcher = new EventDispatcher(transport, hostname, onError);
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
    const doc = exceptionToDoc(error);
    const args = Array.isArray(doc.exc_message) ? doc.exc_message : [doc.exc_message];
    this.task('task-failed', m, { exception: `${doc.exc_type}(${args.map((a) => pyRepr(a)).join(', ')})`, traceback });
  }
  retried(m: TaskMessage, reason: unknown): void {
    this.task('task-retried', m, { exception: String(reason) });
  }
  rejected(m: TaskMessage, requeue: boolean): void {
    this.task('task-rejected', m, { requeue });
  }
  revoked(m: TaskMessage, how: { terminated: boolean; signum: number | null; expired: boolean }): void {
    this.task('task-revoked', m, { terminated: how.terminated, signum: how.signum, expired: how.expired });
  }
}
