// The request context a delivered task sees (Celery's task.request), built from its TaskMessage and delivery. Every
// field is an own data property, as a plain object's (so spreading or copying `self.request` keeps them all), except
// `signal`: it is read through the run's abort, whose AbortSignal is built only when a task asks for it.

import type { TaskMessage } from '../protocol/task-message.js';
import type { Request as TaskRequest } from '../task/context.js';
import type { SignatureDict } from '../protocol/task-message.js';
import type { DeliveryInfo, Delivery } from '../transports/transport.js';
import type { AbortView } from '../utils/run-abort.js';

/** Celery's task.request of a delivered message; `signal` is the run's (undefined for one that never runs). */
export class DeliveredRequest implements TaskRequest {
  [custom: string]: unknown;
  declare id: string;
  declare task: string;
  declare args: unknown[];
  declare kwargs: Record<string, unknown>;
  declare group: string | null;
  declare group_index: number | null;
  declare chord: SignatureDict | null;
  declare chain: SignatureDict[] | null;
  declare retries: number;
  declare is_eager: boolean;
  declare eta: string | null;
  declare expires: string | null;
  declare logfile: string | null;
  declare loglevel: number | null;
  declare hostname: string | null;
  declare delivery_info: DeliveryInfo | null;
  declare called_directly: boolean;
  declare callbacks: SignatureDict[] | null;
  declare errbacks: SignatureDict[] | null;
  declare errback: SignatureDict[] | null;
  declare utc: boolean;
  declare headers: Record<string, unknown> | null;
  declare reply_to: string | null;
  declare correlation_id: string | null;
  declare root_id: string | null;
  declare parent_id: string | null;
  declare timelimit: [number | null, number | null];
  declare origin: string | null;
  declare ignore_result: boolean;
  declare shadow: string | null;
  declare stamped_headers: string[] | null;
  declare stamps: Record<string, unknown>;
  readonly #abort: AbortView | undefined;

  /** `loglevel` is Celery's number (celeryLevelNumber); `abort` is the run's, absent for a request that never runs. */
  constructor(message: TaskMessage, delivery: Delivery, hostname: string, loglevel: number, logfile: string | null, abort?: AbortView) {
    const custom = message.customHeaders;
    let hasCustom = false;
    for (const key in custom) {
      hasCustom = true;
      // Defined, not assigned: a header named `__proto__` stays a plain property; `signal` stays the run's.
      if (key !== 'signal') Object.defineProperty(this, key, { value: custom[key], writable: true, enumerable: true, configurable: true });
    }
    const info = delivery.message.deliveryInfo;
    const priority = delivery.message.properties.priority;
    const errbacks = message.embed.errbacks;
    this.id = message.id;
    this.task = message.task;
    this.args = message.args;
    this.kwargs = message.kwargs;
    this.group = message.group;
    this.group_index = message.groupIndex;
    this.chord = message.embed.chord;
    this.chain = message.embed.chain;
    this.retries = message.retries;
    this.is_eager = false;
    this.eta = message.eta;
    this.expires = message.expires;
    this.logfile = logfile;
    this.loglevel = loglevel;
    this.hostname = hostname;
    this.delivery_info = { exchange: info.exchange, routing_key: info.routing_key, priority: typeof priority === 'number' ? priority : 0, redelivered: delivery.redelivered };
    this.called_directly = false;
    this.callbacks = message.embed.callbacks;
    this.errbacks = errbacks;
    this.errback = errbacks;
    this.utc = true;
    this.headers = hasCustom ? custom : null;
    this.reply_to = message.replyTo;
    this.correlation_id = message.correlationId;
    this.root_id = message.rootId;
    this.parent_id = message.parentId;
    this.timelimit = message.timelimit;
    this.origin = message.origin;
    this.ignore_result = message.ignoreResult;
    this.shadow = message.shadow;
    this.stamped_headers = message.stampedHeaders ?? null;
    this.stamps = message.stamps ?? {};
    this.#abort = abort;
  }

  /** Aborted on revoke(terminate) or the soft time limit; built on first read. */
  get signal(): AbortSignal | undefined {
    return this.#abort?.signal;
  }
}
