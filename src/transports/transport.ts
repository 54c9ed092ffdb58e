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

/** A message as the transport moves it: wire bytes plus AMQP-style headers and properties. */
export interface OutgoingMessage {
  /** Serialized payload (already compressed, if compression is on). */
  readonly body: Uint8Array;
  /** e.g. `application/json`. */
  readonly contentType: string;
  /** `utf-8` or `binary`. */
  readonly contentEncoding: string;
  /** Protocol headers (task name, id, eta, …) exactly as they go on the wire. */
  readonly headers: Record<string, unknown>;
  /** AMQP basic properties as kombu names them: correlation_id, reply_to, priority, delivery_mode, expiration … */
  readonly properties: MessageProperties;
}

export interface MessageProperties {
  correlation_id?: string;
  reply_to?: string;
  /** 2 = persistent (tasks, control requests); 1 = transient (events, replies). */
  delivery_mode?: 1 | 2;
  priority?: number;
  /** Milliseconds as a string, as kombu writes it. */
  expiration?: string;
  /** Extra properties carried through unchanged (e.g. `origin`, `replaced_task_nesting` on retries). */
  [key: string]: unknown;
}

export interface IncomingMessage extends OutgoingMessage {
  /** Where the message was published: `{ exchange, routing_key }` (+ `redelivered`, `priority` when known). */
  readonly deliveryInfo: DeliveryInfo;
}

export interface DeliveryInfo {
  exchange: string;
  routing_key: string;
  priority?: number;
  redelivered?: boolean;
}

/** Where to publish. Exchange `''` is the default exchange: routing key = queue name. */
export interface Route {
  readonly exchange: string;
  readonly routingKey: string;
}

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

export interface Subscription {
  /** Change how many unacked deliveries the consumer may hold (0 = unlimited). */
  setPrefetch(count: number): Promise<void>;
  /** Stop receiving; deliveries already handed out stay unacked until acked or rejected. */
  cancel(): Promise<void>;
}

export interface SubscribeOptions {
  /** Maximum unacked deliveries at once (prefetch_count); 0 = unlimited. */
  prefetch: number;
  /** Transient, no ack needed (control replies, events): deliveries are acked by the transport. */
  noAck?: boolean;
}

export type TransportEvent = 'connected' | 'disconnected' | 'error';

/** A connection to one broker. */
export interface Transport {
  readonly capabilities: TransportCapabilities;
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
  /** TLS options (broker_use_ssl), passed through to the driver. */
  readonly ssl?: Readonly<Record<string, unknown>> | boolean;
}

export type TransportFactory = (options: TransportOptions) => Transport | Promise<Transport>;
