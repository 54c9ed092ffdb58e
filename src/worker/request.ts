// From a delivery to a runnable request: the request context, time limits, expiry and the ack policy.

import type { TaskMessage } from '../protocol/task-message.js';
import { InvalidTaskError } from '../errors.js';
import { parseWireTime } from '../utils/wire-time.js';
import type { Request } from '../task/context.js';
import type { Task } from '../task/task.js';
import type { Delivery } from '../transports/transport.js';

export function buildRequest(message: TaskMessage, delivery: Delivery, hostname: string, loglevel: string | null, logfile: string | null): Request {
  const info = delivery.message.deliveryInfo;
  return {
    ...message.customHeaders,
    id: message.id,
    task: message.task,
    args: message.args,
    kwargs: message.kwargs,
    group: message.group,
    group_index: message.groupIndex,
    chord: message.embed.chord,
    chain: message.embed.chain,
    retries: message.retries,
    is_eager: false,
    eta: message.eta,
    expires: message.expires,
    logfile,
    loglevel,
    hostname,
    delivery_info: {
      exchange: info.exchange,
      routing_key: info.routing_key,
      priority: typeof delivery.message.properties.priority === 'number' ? delivery.message.properties.priority : 0,
      redelivered: delivery.redelivered,
    },
    called_directly: false,
    callbacks: message.embed.callbacks,
    errbacks: message.embed.errbacks,
    utc: true,
    headers: Object.keys(message.customHeaders).length ? message.customHeaders : null,
    reply_to: message.replyTo,
    correlation_id: message.correlationId,
    root_id: message.rootId,
    parent_id: message.parentId,
    timelimit: message.timelimit,
    origin: message.origin,
    ignore_result: message.ignoreResult,
    shadow: message.shadow,
  };
}

/**
 * Epoch ms of a message's eta or expires, or null when it has none. parseTaskMessage has already refused garbage
 * (InvalidTaskError); one met here is thrown again, naming the field and the value.
 */
export function wireTimeMs(message: TaskMessage, field: 'eta' | 'expires'): number | null {
  const text = message[field];
  if (text === null) return null;
  const parsed = parseWireTime(text, field, { taskId: message.id, taskName: message.task });
  if (parsed instanceof InvalidTaskError) throw parsed;
  return parsed.epochMs;
}

/** Epoch ms of the eta, or null. */
export function etaOf(message: TaskMessage): number | null {
  return wireTimeMs(message, 'eta');
}

/** Whether the message's expires time has passed (Celery's Request.revoked() expiry part). */
export function isExpired(message: TaskMessage, now = Date.now()): boolean {
  const expires = wireTimeMs(message, 'expires');
  return expires !== null && expires <= now;
}

/** [hard, soft] seconds: the message's header, else the task's options, else the worker settings. */
export function timeLimitsOf(message: TaskMessage, task: Task, setting: (n: string) => unknown): [number | null, number | null] {
  const hard = message.timelimit[0] ?? task.options.timeLimit ?? (setting('task_time_limit') as number | null) ?? null;
  const soft = message.timelimit[1] ?? task.options.softTimeLimit ?? (setting('task_soft_time_limit') as number | null) ?? null;
  return [hard, soft];
}

export interface AckPolicy {
  acksLate: boolean;
  acksOnFailureOrTimeout: boolean;
  rejectOnWorkerLost: boolean;
}

export function ackPolicyOf(task: Task, setting: (n: string) => unknown): AckPolicy {
  return {
    acksLate: task.options.acksLate ?? Boolean(setting('task_acks_late')),
    acksOnFailureOrTimeout: task.options.acksOnFailureOrTimeout ?? (setting('task_acks_on_failure_or_timeout') as boolean | null) ?? true,
    rejectOnWorkerLost: task.options.rejectOnWorkerLost ?? Boolean(setting('task_reject_on_worker_lost')),
  };
}
