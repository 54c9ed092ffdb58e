// The send path (apply_async): options → TaskMessage → bytes → transport.publish, with Celery's routing,
// countdown/eta/expires arithmetic, parent/root tracking and the publish retry policy.

import { OperationalError } from '../errors.js';
import { buildTaskMessage, EMPTY_EMBED, type SignatureDict, type TaskMessage } from '../protocol/task-message.js';
import { currentExecution } from '../task/context.js';
import type { ResultBackend } from '../backends/backend.js';
import type { Route, Transport } from '../transports/transport.js';
import { originString, uuid } from '../utils/ids.js';
import { sleepLong } from '../utils/long-timer.js';
import { appTimeZone } from '../utils/time-zone.js';
import { wireTimeToSend } from '../utils/wire-time.js';
import { resolveRoute, type RoutesSetting } from './routes.js';
import type { Signals } from './signals.js';
import { stampsFromOptions } from '../protocol/stamps.js';
import { EventDispatcher } from '../events/dispatcher.js';
import { taskSentFields } from '../protocol/events.js';
import { isQuorum, queueArgumentsFor } from '../config/queue-arguments.js';
import { parseWireTime } from '../utils/wire-time.js';
import type { ApplyOptions, RetryPolicy, SignatureLike, TaskDefaults } from '../task/options.js';

/** What the producer reads from the app: settings and a connected transport. Keeps app ↔ producer one-way. */
export interface ProducerHost {
  setting(name: string): unknown;
  getTransport(): Promise<Transport>;
  /**
   * The result backend, opened before the first publish: a backend that cannot open refuses the send before anything
   * is published, and rpc:// declares its reply queue (ResultBackend.onTaskCall).
   */
  getBackend?(): Promise<ResultBackend>;
  /** The client's oid: reply_to of every task message. */
  readonly oid: string;
  readonly signals?: Signals;
  /** The declared options of a task registered under `name` (task_annotations applied), else undefined. */
  taskOptions?(name: string): TaskDefaults | undefined;
}

/**
 * The app's send path (Celery's amqp.send_task_message): builds protocol-2 messages, routes them, declares the
 * queue once, publishes with task_publish_retry_policy, and sends the publish signals and task-sent events.
 */
export class Producer {
  private readonly declared = new Set<string>();
  private delayTopology?: Promise<string[]>;
  private readonly origin = originString();
  /** task-sent events (task_send_sent_event), sent as this client's anonymous node name, as Celery does. */
  private sentEvents?: EventDispatcher;

  constructor(private readonly host: ProducerHost) {}

  /**
   * Build and publish one task message; returns its task id. THE send path: every send (task.applyAsync,
   * app.sendTask, signatures, canvas members, callbacks, errbacks, retries) comes here, so each is routed the same
   * way: explicit options, then the declared options of the task registered under that name, then task_routes,
   * then task_default_queue.
   */
  async send(name: string, args: unknown[], kwargs: Record<string, unknown>, options: ApplyOptions): Promise<string> {
    const conf = (key: string) => this.host.setting(key);
    const id = options.taskId ?? uuid();
    const parent = currentExecution();
    if (parent) parent.children.push(id);

    const defaults = this.host.taskOptions?.(name) ?? {};
    const routing = options.routeName === undefined ? defaults : (this.host.taskOptions?.(options.routeName) ?? {});
    const route = this.route(options.routeName ?? name, args, kwargs, options, routing);
    const replyTo = options.replyTo ?? this.host.oid;
    // Celery's client writes eta and expires in the app's time zone (app.now()); the instant is the same in any zone.
    const zone = appTimeZone(conf('timezone') as string | null, conf('enable_utc') !== false);
    const priority = options.priority ?? routing.priority ?? route.priority ?? (conf('task_default_priority') as number | null) ?? undefined;
    const message: TaskMessage = {
      id,
      task: name,
      args,
      kwargs,
      embed: hasEmbed(options)
        ? { callbacks: dicts(options.link), errbacks: dicts(options.linkError), chain: withReplyTo(options.chain, replyTo), chord: options.chord ?? null }
        : EMPTY_EMBED,
      eta: etaOf(options, zone),
      expires: expiresOf(options.expires ?? defaults.expires, zone),
      retries: options.retries ?? 0,
      group: options.groupId ?? null,
      groupIndex: options.groupIndex ?? null,
      rootId: options.rootId ?? parent?.request.root_id ?? id,
      parentId: options.parentId !== undefined ? options.parentId : (parent?.request.id ?? null),
      timelimit: [options.timeLimit ?? null, options.softTimeLimit ?? null],
      shadow: options.shadow ?? null,
      origin: this.origin,
      ignoreResult: options.ignoreResult ?? defaults.ignoreResult ?? (conf('task_ignore_result') as boolean) ?? false,
      argsrepr: null,
      kwargsrepr: null,
      replyTo,
      correlationId: id,
      customHeaders: options.headers ?? {},
      protocol: 2,
      ...stampsFromOptions(options as Record<string, unknown>),
    };
    const outgoing = buildTaskMessage(message, {
      serializer: options.serializer ?? defaults.serializer ?? (conf('task_serializer') as string),
      compression: options.compression ?? defaults.compression ?? (conf('task_compression') as string | null),
      priority: priority ?? 0,
      deliveryMode: conf('task_default_delivery_mode') === 'transient' || conf('task_default_delivery_mode') === 1 ? 1 : 2,
      extraProperties: options.extraProperties,
    });
    const signals = this.host.signals;
    if (signals?.has('before_task_publish')) await signals.send('before_task_publish', { name, taskId: id, args, kwargs, options, headers: outgoing.headers });
    const backend = await this.host.getBackend?.();
    await backend?.onTaskCall?.(id, (message.embed.chain ?? []).map((step) => step.options?.task_id).filter((t): t is string => typeof t === 'string'));
    const transport = await this.host.getTransport();
    const publish = async () => {
      if (route.declare && !this.declared.has(route.queue)) {
        await transport.declare({ name: route.queue, exchange: route.declareExchange, routingKey: route.queue, queueArguments: queueArgumentsFor(route.queue, (k) => this.host.setting(k)) });
        this.declared.add(route.queue);
      }
      await transport.publish(outgoing, (await this.delayedRoute(transport, route.queue, message.eta)) ?? { exchange: route.exchange, routingKey: route.routingKey });
    };
    const retry = options.retry ?? (conf('task_publish_retry') as boolean) ?? true;
    await (retry ? withRetry(publish, transport, { ...defaultPolicy(conf('task_publish_retry_policy')), ...options.retryPolicy }, name) : publish());
    if (conf('task_send_sent_event')) {
      this.sentEvents ??= new EventDispatcher(transport, this.origin, () => undefined, undefined, (conf('event_exchange') as string | null) ?? undefined);
      const h = outgoing.headers;
      await this.sentEvents.send('task-sent', taskSentFields({ ...message, rootId: h.root_id as string, argsrepr: h.argsrepr as string, kwargsrepr: h.kwargsrepr as string }, route));
    }
    if (signals?.has('after_task_publish')) await signals.send('after_task_publish', { name, taskId: id, queue: route.queue });
    return id;
  }

  /**
   * Celery 5.5's ETA on quorum queues: a task due later, for a quorum queue (worker_detect_quorum_queues) bound to a
   * non-direct exchange, goes through RabbitMQ's native delayed delivery, held by the broker until due. Undefined
   * otherwise (published to its queue; the worker holds it until due).
   */
  private async delayedRoute(transport: Transport, queue: string, eta: string | null): Promise<Route | undefined> {
    const native = transport.nativeDelayedDelivery;
    if (!native || eta === null || !this.host.setting('worker_detect_quorum_queues')) return undefined;
    if (!isQuorum(queueArgumentsFor(queue, (k) => this.host.setting(k)))) return undefined;
    const entry = ((this.host.setting('task_queues') as Array<Record<string, unknown>> | null) ?? []).find((q) => q.name === queue);
    if (!entry || (entry.exchange_type ?? this.host.setting('task_default_exchange_type')) === 'direct') return undefined;
    const due = parseWireTime(eta, 'eta');
    const seconds = due instanceof Error ? 0 : Math.trunc((due.epochMs - Date.now()) / 1000);
    if (seconds < 1) return undefined;
    if (!this.delayTopology) {
      this.delayTopology = native.setup([], this.host.setting('broker_native_delayed_delivery_queue_type') as 'quorum' | 'classic');
      this.delayTopology.catch(() => (this.delayTopology = undefined));
    }
    await this.delayTopology;
    return native.route(seconds, String(entry.routing_key ?? queue));
  }

  /**
   * Explicit options win over the task's declared ones, which win over task_routes, which win over
   * task_default_queue, as in Celery. Tasks go to the default exchange '' with the queue name as routing key, as
   * Python Celery publishes them. An exchange given without a queue (a retry of a task that came through a custom
   * exchange) is published to as is: nothing is declared, so no queue is made up from its routing key.
   */
  private route(name: string, args: unknown[], kwargs: Record<string, unknown>, options: ApplyOptions, declared: TaskDefaults) {
    const routed = resolveRoute(this.host.setting('task_routes') as RoutesSetting, name, args, kwargs, options as Record<string, unknown>);
    const explicitExchange = options.exchange !== undefined && options.queue === undefined;
    const queue = options.queue ?? declared.queue ?? routed?.queue ?? (this.host.setting('task_default_queue') as string) ?? 'celery';
    const exchange = options.exchange ?? declared.exchange ?? routed?.exchange ?? '';
    const routingKey = options.routingKey ?? declared.routingKey ?? (exchange === '' ? queue : (routed?.routing_key ?? queue));
    const declareExchange = exchange === '' ? ((this.host.setting('task_default_exchange') as string | null) ?? queue) : exchange;
    return { queue, exchange, routingKey, declareExchange, declare: !explicitExchange, priority: routed?.priority };
  }
}

function hasEmbed(o: ApplyOptions): boolean {
  return o.link !== undefined || o.linkError !== undefined || o.chain != null || o.chord != null;
}

/**
 * Chain steps carry the sender's reply_to, as Celery's frozen signatures do, so each step's result comes back to
 * the process that sent the chain (rpc://) and not to the worker that sends the step.
 */
function withReplyTo(chain: SignatureDict[] | null | undefined, replyTo: string): SignatureDict[] | null {
  if (!chain) return null;
  return chain.map((step) => (step.options?.reply_to ? step : { ...step, options: { ...step.options, reply_to: replyTo } }));
}

function dicts(s: SignatureLike | SignatureLike[] | undefined): SignatureDict[] | null {
  if (s === undefined) return null;
  return (Array.isArray(s) ? s : [s]).map((x) => x.toDict());
}

function expiresOf(expires: ApplyOptions['expires'], zone: string): string | null {
  return expires === undefined || expires === null ? null : wireTimeToSend(expires, 'expires', zone);
}

function etaOf(o: ApplyOptions, zone: string): string | null {
  if (o.countdown !== undefined && o.countdown !== null) return wireTimeToSend(o.countdown, 'countdown', zone);
  return o.eta === undefined || o.eta === null ? null : wireTimeToSend(o.eta, 'eta', zone);
}

function defaultPolicy(setting: unknown): RetryPolicy {
  return { max_retries: 3, interval_start: 0, interval_step: 0.2, interval_max: 0.2, ...(setting as Partial<RetryPolicy> | null) };
}

/** Publish, retrying recoverable broker errors by the policy; the final error says what to check. */
async function withRetry(publish: () => Promise<void>, transport: Transport, policy: RetryPolicy, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await publish();
    } catch (error) {
      if (!transport.isRecoverable(error) || attempt >= policy.max_retries) {
        if (!transport.isRecoverable(error)) throw error;
        throw new OperationalError(
          `Could not publish task ${name} to ${transport.displayUrl} after ${attempt + 1} attempts: ${(error as Error).message}. ` +
            'Check that the broker is running and reachable; task_publish_retry_policy sets how long to keep trying.',
          { cause: error, context: { taskName: name, url: transport.displayUrl } },
        );
      }
      const delay = Math.min(policy.interval_start + attempt * policy.interval_step, policy.interval_max);
      await sleepLong(delay * 1000);
    }
  }
}
