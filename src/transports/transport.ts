// The broker contract used by the app, worker, control and events. Interfaces only: no code.
// Every broker supports ack and reject, so acks_late and crash safety hold everywhere.

/** What a transport can do natively; callers branch on these, never on "not implemented" errors. */
export interface TransportCapabilities {
  /** Fanout exchanges (broadcast): needed for remote control and events. */
  readonly fanout: boolean;
  /** Topic exchanges with `*`/`#` patterns. */
  readonly topic: boolean;
  /** Messages with a higher priority are taken first. */
  readonly priority: boolean;
  /** Unacked messages return to the queue when their consumer disappears (visibility timeout or connection loss). */
  readonly redelivery: boolean;
  /** The broker can hold a taken message until a due time without counting it as unacked (see Delivery.defer). */
  readonly deferredDelivery: boolean;
}

export type { OutgoingMessage, MessageProperties, IncomingMessage, DeliveryInfo, Route } from '../protocol/message.js';
import type { IncomingMessage, OutgoingMessage, Route } from '../protocol/message.js';
import type { Coordination } from '../drivers/coordination.js';
import type { FailoverStrategy } from '../config/failover-strategy.js';
export type { Coordination } from '../drivers/coordination.js';

/** AMQP exchange types celeriac routes (headers exchanges are not supported). */
export type ExchangeType = 'direct' | 'topic' | 'fanout';

/** A queue, its exchange and the binding between them (kombu's Queue). Declaring is idempotent. */
export interface QueueDeclaration {
  readonly name: string;
  /** Defaults to the queue name with type direct, as Celery's task_queues do. */
  readonly exchange?: string;
  readonly exchangeType?: ExchangeType;
  /** Defaults to the queue name. */
  readonly routingKey?: string;
  readonly durable?: boolean;
  /** Deleted when its last consumer goes (reply and event queues). */
  readonly autoDelete?: boolean;
  /** x-max-priority (AMQP); ignored where priorities are emulated. */
  readonly maxPriority?: number;
  /** Seconds until an unused queue is deleted (x-expires). */
  readonly expires?: number;
  /** Seconds a message may wait in the queue before the broker drops it (x-message-ttl). */
  readonly messageTtl?: number;
  /**
   * Other queue arguments sent as they are (AMQP; kombu's queue_arguments), e.g. { 'x-queue-type': 'quorum' }.
   * Ignored by virtual transports.
   */
  readonly queueArguments?: Readonly<Record<string, unknown>>;
}

/** One message handed to a consumer. Exactly one of ack/reject/defer must be called. */
export interface Delivery {
  readonly message: IncomingMessage;
  readonly queue: string;
  readonly redelivered: boolean;
  /**
   * Set when the transport could not decode the envelope (not JSON, wrong shape). The message then holds the raw
   * bytes; the consumer must log this error and reject the delivery without requeue. Never thrown: bad input on one
   * message must not stop a consumer.
   */
  readonly decodeError?: Error;
  ack(): Promise<void>;
  /** requeue: true puts it back at the head of its queue; false drops it (dead-letters where supported). */
  reject(options: { requeue: boolean }): Promise<void>;
  /**
   * Hand the message back to the broker until `dueAt` (epoch ms): it stops counting as unacked, so a visibility
   * timeout cannot redeliver it early, and it is delivered again when due. Only when capabilities.deferredDelivery.
   */
  defer?(dueAt: number): Promise<void>;
}

/** A running consumer of one or more queues (kombu's Consumer): prefetch can change, and it can be cancelled. */
export interface Subscription {
  /** Change how many unacked deliveries the consumer may hold (0 = unlimited). */
  setPrefetch(count: number): Promise<void>;
  /** Stop receiving; deliveries already handed out stay unacked until acked or rejected. */
  cancel(): Promise<void>;
}

/** Consumer settings: prefetch count (basic.qos) and no-ack mode. */
export interface SubscribeOptions {
  /** Maximum unacked deliveries at once (prefetch_count); 0 = unlimited. */
  prefetch: number;
  /** Transient, no ack needed (control replies, events): deliveries are acked by the transport. */
  noAck?: boolean;
  /**
   * AMQP: false = prefetch per consumer instead of per channel (Celery's worker_detect_quorum_queues: quorum queues
   * refuse global QoS). Default true. Other transports ignore it.
   */
  globalQos?: boolean;
}

/**
 * Events a Transport emits: 'connected' after a reconnect, 'disconnected' with the cause, 'error' worth logging,
 * 'settle-lost' with a SettleLost when acks or rejects could not take effect (the tasks named may run twice),
 * 'reconnect-failed' with the cause for each failed reconnect attempt of a transport that reconnects by itself (AMQP;
 * the virtual transports report each failed attempt as 'disconnected').
 */
export type TransportEvent = 'connected' | 'disconnected' | 'error' | 'settle-lost' | 'reconnect-failed';

/**
 * Deliveries whose ack or reject can no longer take effect: the broker has given (or will give) them to a consumer
 * again, so their tasks may run twice. Emitted with the 'settle-lost' event.
 */
export interface SettleLost {
  /** The task ids (the message's `id` header; the delivery tag when a message has none). */
  readonly taskIds: readonly string[];
  /** Why, in a sentence: what failed and what happens to the messages. */
  readonly reason: string;
}

/**
 * A consumer's liveness lease in the broker (celeriac's, beyond kombu's visibility timeout): while it is renewed,
 * the messages taken under it are never redelivered, however long they run; once it stops being renewed (the
 * process died), any other celeriac consumer returns them to their queues within the lease time. The worker starts
 * it before consuming and stops it after its last settle. Messages of consumers without a lease (Python workers)
 * keep the visibility-timeout rule.
 */
export interface TransportLease {
  /** Seconds a lease lives without renewal (broker_transport_options.lease_timeout). */
  readonly timeoutSeconds: number;
  /** The current lease id (changes when a lost lease is replaced); undefined while stopped. */
  readonly id: string | undefined;
  /** Open the lease and keep renewing it; messages taken from now on are held under it. Nested calls share one lease. */
  start(): Promise<void>;
  /** After the consumer's settles: retry settles still pending, restore what the lease still holds, drop it. */
  stop(): Promise<void>;
}

/** RabbitMQ's native delayed delivery (kombu 5.5's celery_delayed_* topology), for ETA tasks on quorum queues. */
export interface NativeDelayedDelivery {
  /**
   * Declare the delay topology (queues of `queueType`) and bind `queues` to it; returns the names of queues that
   * cannot be reached that way (direct or default exchange). Idempotent.
   */
  setup(queues: readonly QueueDeclaration[], queueType: 'quorum' | 'classic'): Promise<string[]>;
  /** Where to publish a message due in `seconds` (whole, ≥ 1) for destination routing key `routingKey`. */
  route(seconds: number, routingKey: string): Route;
}

/** A connection to one broker. */
export interface Transport {
  /** Present where the broker can hold delayed messages itself (AMQP). */
  readonly nativeDelayedDelivery?: NativeDelayedDelivery;
  readonly capabilities: TransportCapabilities;
  /**
   * Shared registers and leases kept by the broker itself (Redis keys, a SQL table), with which several beats
   * elect one leader and claim each due run once. Absent where the broker keeps none (AMQP).
   */
  readonly coordination?: Coordination;
  /** Liveness lease for consumers (Redis, SQL, memory); absent where the broker redelivers by itself (AMQP). */
  readonly lease?: TransportLease;
  /** The broker URL with any password replaced by `**`, for logs and the banner. */
  readonly displayUrl: string;
  connect(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
  declare(queue: QueueDeclaration): Promise<void>;
  publish(message: OutgoingMessage, route: Route): Promise<void>;
  subscribe(queues: readonly string[], onDelivery: (delivery: Delivery) => void, options: SubscribeOptions): Promise<Subscription>;
  /** Delete every waiting message of the queue; returns how many were deleted. */
  purge(queue: string): Promise<number>;
  /** Number of waiting messages, when the broker can tell. */
  size(queue: string): Promise<number>;
  /** Whether an error is a connection-level failure worth a reconnect (kombu's connection_errors). */
  isRecoverable(error: unknown): boolean;
  on(event: TransportEvent, listener: (arg?: unknown) => void): this;
  off(event: TransportEvent, listener: (arg?: unknown) => void): this;
}

/** Options every transport factory receives; `transportOptions` is broker_transport_options. */
export interface TransportOptions {
  readonly url: string;
  readonly transportOptions: Readonly<Record<string, unknown>>;
  /** broker_connection_timeout etc. in ms, already resolved. */
  readonly connectTimeoutMs?: number;
  /** broker_heartbeat in seconds (0 or null = off); AMQP only. A ?heartbeat= in the URL or transport option wins. */
  readonly heartbeatS?: number | null;
  /** broker_failover_strategy: the order of the URLs of a failover list after one fails (default round-robin). */
  readonly failoverStrategy?: FailoverStrategy;
  /** TLS options (broker_use_ssl), passed through to the driver. */
  readonly ssl?: Readonly<Record<string, unknown>> | boolean;
}

/**
 * Opens one transport for a URL; registered per scheme with registerTransport (kombu's transport aliases).
 * Throws ImproperlyConfigured for an unusable URL; connecting is connect()'s job.
 */
export type TransportFactory = (options: TransportOptions) => Transport | Promise<Transport>;
