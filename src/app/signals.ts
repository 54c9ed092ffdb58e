// Celery's signals as typed events on the app (`app.signals.connect('task_success', fn)`). Handlers may be async;
// a failing handler is logged and never breaks the task or the worker.

import type { ApplyOptions } from '../task/options.js';

/** Payloads, by Celery's signal names. `task` is the registered task name. */
export interface SignalPayloads {
  /** `headers`: the message's headers, still mutable (Celery's): what a handler adds there is sent (e.g. traceparent). */
  before_task_publish: { name: string; taskId: string; args: unknown[]; kwargs: Record<string, unknown>; options: ApplyOptions; headers: Record<string, unknown> };
  after_task_publish: { name: string; taskId: string; queue: string };
  task_received: { name: string; taskId: string; hostname: string };
  /** `request`: the task's request (Celery's task.request): its fields and the message's custom headers. */
  task_prerun: { name: string; taskId: string; args: unknown[]; kwargs: Record<string, unknown>; request: Readonly<Record<string, unknown>> };
  task_postrun: { name: string; taskId: string; args: unknown[]; kwargs: Record<string, unknown>; state: string; retval: unknown };
  task_success: { name: string; taskId: string; result: unknown };
  task_failure: { name: string; taskId: string; error: unknown; traceback: string | null };
  task_retry: { name: string; taskId: string; reason: unknown };
  task_revoked: { name: string; taskId: string; expired: boolean; terminated: boolean };
  task_rejected: { queue: string; reason: string };
  task_unknown: { name: string; taskId: string; queue: string };
  worker_init: { hostname: string };
  worker_ready: { hostname: string };
  worker_shutdown: { hostname: string; mode: 'warm' | 'cold' };
}

/** Celery's signal names celeriac sends (the keys of SignalPayloads). */
export type SignalName = keyof SignalPayloads;
/** A handler for one signal: gets its payload; may be async (awaited where Celery runs the signal synchronously). */
export type SignalHandler<K extends SignalName> = (payload: SignalPayloads[K]) => void | Promise<void>;

/**
 * Celery's signals on one app (`app.signals`): connect/disconnect handlers by signal name; send awaits each in turn.
 * A handler that throws is reported through the app's logger and never breaks the sender.
 */
export class Signals {
  private readonly handlers = new Map<SignalName, Set<SignalHandler<never>>>();

  constructor(private readonly onHandlerError: (signal: SignalName, error: unknown) => void) {}

  /** Add a handler; returns a function that removes it. */
  connect<K extends SignalName>(signal: K, handler: SignalHandler<K>): () => void {
    let set = this.handlers.get(signal);
    if (!set) this.handlers.set(signal, (set = new Set()));
    set.add(handler as SignalHandler<never>);
    return () => this.disconnect(signal, handler);
  }

  disconnect<K extends SignalName>(signal: K, handler: SignalHandler<K>): void {
    this.handlers.get(signal)?.delete(handler as SignalHandler<never>);
  }

  /** Whether anyone listens: lets hot paths skip building payloads. */
  has(signal: SignalName): boolean {
    return (this.handlers.get(signal)?.size ?? 0) > 0;
  }

  /** Call every handler in turn, awaiting async ones. */
  async send<K extends SignalName>(signal: K, payload: SignalPayloads[K]): Promise<void> {
    const set = this.handlers.get(signal);
    if (!set) return;
    for (const handler of set) {
      try {
        await (handler as SignalHandler<K>)(payload);
      } catch (error) {
        this.onHandlerError(signal, error);
      }
    }
  }
}
