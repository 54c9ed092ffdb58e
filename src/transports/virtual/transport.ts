// AMQP semantics written once over a QueueStore (kombu's virtual transport): exchanges and bindings, prefetch
// windows, deliveries with ack/reject/defer, the visibility-timeout sweep, deferred-message release, a consume loop
// that survives broker outages, settles retried after one (settles.ts) and the consumer's lease (lease.ts).
// Concrete brokers supply only the store.

import { EventEmitter } from 'node:events';
import { DecodeError, OperationalError } from '../../errors.js';
import { isNetworkError } from '../../drivers/network-errors.js';
import { decodeEnvelope, encodeEnvelope } from '../../protocol/envelope.js';
import { backoffMs } from '../../utils/backoff.js';
import { MAX_TIMER_MS, sleepLong } from '../../utils/long-timer.js';
import type {
  Delivery, ExchangeType, IncomingMessage, OutgoingMessage, QueueDeclaration, Route, SubscribeOptions,
  Subscription, Transport, TransportCapabilities, TransportEvent,
} from '../transport.js';
import type { Coordination } from '../../drivers/coordination.js';
import type { QueueStore, TakenMessage } from './queue-store.js';
import { routeToQueues } from './routing.js';
import { LeaseKeeper, leaseTiming } from './lease.js';
import { SettleRetry, type SettleCall } from './settles.js';

/** What a store's transport adds to the QueueStore: the display URL, transport options and capabilities. */
export interface VirtualTransportOptions {
  /** The broker URL with any password hidden. */
  readonly displayUrl: string;
  /**
   * broker_transport_options: visibility_timeout (s), polling_interval (s), deferral_check_interval (s), and
   * lease_timeout (s, default 15; 0 = no worker lease) where the store has leases.
   */
  readonly transportOptions?: Readonly<Record<string, unknown>>;
  /** Capabilities the store has beyond what the virtual layer derives (priority, redelivery). */
  readonly capabilities?: Partial<TransportCapabilities>;
  /** The store's connection-error predicate (kombu's connection_errors). */
  readonly isRecoverable?: (error: unknown) => boolean;
  /** Receives the transport's emit, for stores that report on their own (a failover to the next broker). */
  readonly events?: (emit: (event: TransportEvent, arg?: unknown) => void) => void;
}

// Exchanges Celery uses with a fixed type, so a process that did not declare them routes them right.
const WELL_KNOWN: Record<string, ExchangeType> = { 'celery.pidbox': 'fanout', celeryev: 'topic', 'reply.celery.pidbox': 'direct' };
// Topic exchanges that travel as broadcasts on virtual brokers (kombu publishes events by PUBLISH, not to lists).
const BROADCAST_TOPICS = new Set(['celeryev']);
const MAX_BATCH = 100;
const TAKE_TIMEOUT_MS = 1_000;

/**
 * A Transport over a QueueStore (kombu's virtual transport): exchanges and bindings, prefetch windows, acks,
 * visibility-timeout redelivery, deferred (ETA) delivery and broadcasts where the store has them.
 */
export function createVirtualTransport(store: QueueStore, options: VirtualTransportOptions): Transport {
  return new VirtualTransport(store, options);
}

interface BroadcastBinding { exchange: string; routingKey: string; type: ExchangeType }

class VirtualTransport extends EventEmitter implements Transport {
  readonly capabilities: TransportCapabilities;
  readonly coordination?: Coordination;
  readonly lease?: LeaseKeeper;
  readonly displayUrl: string;
  readonly settles: SettleRetry;
  /** Task ids of deliveries held under each lease id, by tag (what a lost lease reports). */
  private readonly held = new Map<string, Map<string, string>>();
  private closed = false;
  private readonly exchangeTypes = new Map<string, ExchangeType>(Object.entries(WELL_KNOWN));
  private readonly declared = new Set<string>();
  private readonly broadcastQueues = new Map<string, BroadcastBinding>();
  private readonly subscriptions = new Set<VirtualSubscription>();
  private readonly visibilityMs: number;
  private readonly pollMs: number;
  private sweepTimer?: NodeJS.Timeout;
  private releaseTimer?: NodeJS.Timeout;

  constructor(readonly store: QueueStore, private readonly options: VirtualTransportOptions) {
    super();
    this.coordination = store.coordination;
    const t = options.transportOptions ?? {};
    this.displayUrl = options.displayUrl;
    this.visibilityMs = Number(t.visibility_timeout ?? 3600) * 1000;
    // Seconds, as every Celery-named option; setInterval runs a bad or over-long delay every 1 ms, so bound it.
    const poll = Number(t.deferral_check_interval ?? 1) * 1000;
    this.pollMs = Number.isFinite(poll) && poll > 0 ? Math.min(poll, MAX_TIMER_MS) : 1000;
    this.capabilities = {
      fanout: Boolean(store.broadcast),
      topic: true,
      priority: false,
      redelivery: true,
      deferredDelivery: Boolean(store.deferral),
      ...options.capabilities,
    };
    options.events?.((event, arg) => this.emit(event, arg));
    this.settles = new SettleRetry((e) => this.isRecoverable(e), (lost) => this.emit('settle-lost', lost));
    const timing = store.leases ? leaseTiming(t, this.visibilityMs) : null;
    if (store.leases && timing) {
      this.lease = new LeaseKeeper(store.leases, timing, {
        outstanding: (id) => [...(this.held.get(id)?.values() ?? [])],
        lost: (lost) => this.emit('settle-lost', lost),
        error: (e) => this.emit('disconnected', e),
        beforeRelease: () => this.settles.flush(),
        knows: (id, tag) => (this.held.get(id)?.has(tag) ?? false) || this.settles.isPending(heldKey(id, tag)),
        requeue: (tag, id) => store.requeue(tag, id),
        stranded: (tags) => this.emit('error', new OperationalError(`Gave back ${tags.length} message(s) taken under this worker's lease whose delivery never reached it (a broker reply lost in an outage): delivery tags ${tags.slice(0, 10).join(', ')}${tags.length > 10 ? ', …' : ''}. They run on the next consumer.`)),
      });
    }
  }

  /** Remember (taskId) or forget (undefined) a delivery held under `holder`. */
  track(holder: string, tag: string, taskId?: string): void {
    let tags = this.held.get(holder);
    if (taskId !== undefined) {
      if (!tags) this.held.set(holder, (tags = new Map()));
      tags.set(tag, taskId);
    } else if (tags) {
      tags.delete(tag);
      if (!tags.size) this.held.delete(holder);
    }
  }

  async connect(): Promise<void> {
    // Stores connect lazily; a probe (else a size check) proves the broker answers and surfaces bad URLs early.
    if (this.store.probe) await this.store.probe();
    else await this.store.size('celery');
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.cancel()));
    clearInterval(this.sweepTimer);
    clearInterval(this.releaseTimer);
    await this.lease?.close();
    await this.settles.flush();
    await this.store.close();
  }

  async declare(q: QueueDeclaration): Promise<void> {
    const exchange = q.exchange ?? q.name;
    const type = q.exchangeType ?? this.exchangeTypes.get(exchange) ?? 'direct';
    const routingKey = q.routingKey ?? q.name;
    const key = `${q.name}\0${exchange}\0${routingKey}`;
    if (this.declared.has(key)) return;
    // The default exchange routes by queue name (publish puts to the queue itself): there is nothing to bind.
    if (exchange === '') return void this.declared.add(key);
    this.exchangeTypes.set(exchange, type);
    if (this.isBroadcast(exchange, type)) this.broadcastQueues.set(q.name, { exchange, routingKey, type });
    else await this.store.bindings.add({ exchange, routingKey, pattern: '', queue: q.name });
    this.declared.add(key);
  }

  async publish(message: OutgoingMessage, route: Route): Promise<void> {
    const raw = encodeEnvelope(message, route);
    const priority = typeof message.properties.priority === 'number' ? message.properties.priority : 0;
    if (route.exchange === '') return this.store.put(route.routingKey, raw, priority);
    const type = this.exchangeTypes.get(route.exchange) ?? 'direct';
    if (this.isBroadcast(route.exchange, type)) {
      if (!this.store.broadcast) throw new OperationalError(`The broker at ${this.displayUrl} cannot broadcast (exchange ${route.exchange}): remote control and events need a broker with fanout (Redis, AMQP, SQLite, memory).`);
      return this.store.broadcast.publish(route.routingKey ? `${route.exchange}/${route.routingKey}` : route.exchange, raw);
    }
    const queues = routeToQueues(type, await this.store.bindings.list(route.exchange), route.routingKey);
    await Promise.all(queues.map((q) => this.store.put(q, raw, priority)));
  }

  async subscribe(queues: readonly string[], onDelivery: (d: Delivery) => void, options: SubscribeOptions): Promise<Subscription> {
    const broadcast = queues.filter((q) => this.broadcastQueues.has(q));
    const listed = queues.filter((q) => !this.broadcastQueues.has(q));
    const sub = new VirtualSubscription(this, listed, onDelivery, options);
    this.subscriptions.add(sub);
    for (const q of broadcast) await sub.listen(q, this.broadcastQueues.get(q)!);
    if (listed.length) {
      this.startMaintenance();
      sub.start();
    }
    return sub;
  }

  forget(sub: VirtualSubscription): void {
    this.subscriptions.delete(sub);
  }

  purge(queue: string): Promise<number> {
    return this.store.purge(queue);
  }

  size(queue: string): Promise<number> {
    return this.store.size(queue);
  }

  isRecoverable(error: unknown): boolean {
    if (this.options.isRecoverable?.(error)) return true;
    return error instanceof OperationalError || isNetworkError(error);
  }

  override on(event: TransportEvent, listener: (arg?: unknown) => void): this {
    return super.on(event, listener);
  }

  override off(event: TransportEvent, listener: (arg?: unknown) => void): this {
    return super.off(event, listener);
  }

  private isBroadcast(exchange: string, type: ExchangeType): boolean {
    return type === 'fanout' || (type === 'topic' && BROADCAST_TOPICS.has(exchange));
  }

  /** A background sweep failed: worth logging while open; a sweep cut short by close() is not (nor an unheard 'error', which would throw). */
  private failed(error: unknown): void {
    if (!this.closed && this.listenerCount('error')) this.emit('error', error);
  }

  /** Restore stale unacked messages (any owner) and release due deferred ones, while anyone consumes. */
  private startMaintenance(): void {
    if (this.sweepTimer) return;
    const sweep = () => this.store.restoreExpired(this.visibilityMs).catch((e) => this.failed(e));
    void sweep();
    this.sweepTimer = setInterval(sweep, Math.max(1_000, Math.min(this.visibilityMs / 2, 60_000)));
    this.sweepTimer.unref();
    const deferral = this.store.deferral;
    if (deferral) {
      this.releaseTimer = setInterval(() => void deferral.releaseDue(Date.now()).catch((e) => this.failed(e)), this.pollMs);
      this.releaseTimer.unref();
    }
  }
}

class VirtualSubscription implements Subscription {
  private readonly abort = new AbortController();
  private unacked = 0;
  private wake?: () => void;
  private readonly stopListening: Array<() => Promise<void>> = [];
  private loop?: Promise<void>;

  constructor(
    private readonly transport: VirtualTransport,
    private readonly queues: readonly string[],
    private readonly onDelivery: (d: Delivery) => void,
    private options: SubscribeOptions,
  ) {}

  start(): void {
    this.loop = this.consume();
  }

  async listen(queue: string, binding: BroadcastBinding): Promise<void> {
    const store = this.transport.store;
    if (!store.broadcast) throw new OperationalError(`The broker at ${this.transport.displayUrl} cannot broadcast: queue ${queue} is bound to ${binding.type} exchange ${binding.exchange}.`);
    const stop = await store.broadcast.listen(binding.exchange, (raw) => {
      const delivery = this.toDelivery({ queue, raw, tag: '' }, true);
      const key = delivery.message.deliveryInfo.routing_key;
      if (binding.type === 'topic' && binding.routingKey !== '#' && !routeToQueues('topic', [{ exchange: binding.exchange, routingKey: binding.routingKey, pattern: '', queue }], key).length) return;
      this.onDelivery(delivery);
    });
    this.stopListening.push(stop);
  }

  async setPrefetch(count: number): Promise<void> {
    this.options = { ...this.options, prefetch: count };
    this.wake?.();
  }

  async cancel(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    this.transport.forget(this);
    await Promise.all(this.stopListening.splice(0).map((stop) => stop().catch(() => undefined)));
    await this.loop;
  }

  private window(): number {
    const prefetch = this.options.prefetch;
    return prefetch > 0 ? Math.min(MAX_BATCH, prefetch - this.unacked) : MAX_BATCH;
  }

  private async consume(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      const max = this.window();
      if (max <= 0) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      let taken: TakenMessage[];
      const holder = this.options.noAck ? undefined : this.transport.lease?.id;
      try {
        taken = await this.transport.store.take(this.queues, { timeoutMs: TAKE_TIMEOUT_MS, signal, max, holder });
        if (failures > 0) {
          failures = 0;
          this.transport.emit('connected');
        }
      } catch (error) {
        if (signal.aborted) break;
        this.transport.emit(this.transport.isRecoverable(error) ? 'disconnected' : 'error', error);
        await sleepLong(backoffMs(failures++), { signal });
        continue;
      }
      // The store found the lease gone (it expired while we lived): renew now, which replaces it.
      if (holder !== undefined && taken.some((t) => t.holder !== holder)) this.transport.lease?.check();
      for (const t of taken) {
        if (this.options.noAck) void this.transport.store.ack(t.tag, t.holder).catch(() => undefined);
        else this.unacked++;
        this.onDelivery(this.toDelivery(t, Boolean(this.options.noAck)));
      }
    }
  }

  private settle(): void {
    this.unacked--;
    this.wake?.();
  }

  private toDelivery(t: TakenMessage, autoAcked: boolean): Delivery {
    const store = this.transport.store;
    let message: IncomingMessage;
    let decodeError: Error | undefined;
    try {
      message = decodeEnvelope(t.raw, t.queue);
    } catch (error) {
      decodeError = error instanceof Error ? error : new DecodeError(String(error));
      message = { body: Buffer.from(t.raw, 'utf8'), contentType: 'application/x-unreadable', contentEncoding: 'binary', headers: {}, properties: {}, deliveryInfo: { exchange: '', routing_key: t.queue } };
    }
    let settled = autoAcked;
    const taskId = typeof message.headers.id === 'string' ? message.headers.id : t.tag;
    const holder = t.holder;
    if (holder !== undefined && !autoAcked) this.transport.track(holder, t.tag, taskId);
    // An ack frees the prefetch slot at once; a requeue only after the message is back (or kept for a retry), so the
    // next take cannot overtake it. A settle failing on an unreachable broker is kept and retried (settles.ts).
    const once = async (kind: SettleCall['kind'], run: SettleCall['run'], slotAfter = false) => {
      if (settled) return;
      settled = true;
      if (!slotAfter) this.settle();
      try {
        await this.transport.settles.run({ run, taskId, kind, ...(holder === undefined ? {} : { key: heldKey(holder, t.tag) }) });
      } finally {
        if (holder !== undefined) this.transport.track(holder, t.tag);
        if (slotAfter) this.settle();
      }
    };
    const redelivered = message.deliveryInfo.redelivered === true || message.headers.redelivered === true;
    const delivery: Delivery = {
      message,
      queue: t.queue,
      redelivered,
      decodeError,
      ack: () => once('ack', () => store.ack(t.tag, holder)),
      reject: ({ requeue }) => (requeue ? once('requeue', () => store.requeue(t.tag, holder), true) : once('ack', () => store.ack(t.tag, holder))),
    };
    if (store.deferral && !autoAcked) {
      const deferral = store.deferral;
      (delivery as { defer?: Delivery['defer'] }).defer = (dueAt) => once('defer', () => deferral.defer(t.tag, dueAt, holder));
    }
    return delivery;
  }
}

/** The SettleCall key of a message held under lease `lease` with delivery tag `tag`. */
function heldKey(lease: string, tag: string): string {
  return `${lease}\u0000${tag}`;
}
