// A message as brokers move it: wire bytes plus AMQP-style headers and properties. Pure types; every
// transport and the codec share them.

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

/**
 * AMQP basic properties kombu sets (correlation_id, reply_to, delivery_mode, priority, expiration), plus
 * extra ones carried through.
 */
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

/** A message as a transport delivers it: what was published plus where it was routed. */
export interface IncomingMessage extends OutgoingMessage {
  /** Where the message was published: `{ exchange, routing_key }` (+ `redelivered`, `priority` when known). */
  readonly deliveryInfo: DeliveryInfo;
}

/** kombu's delivery_info: the exchange and routing key the message was published with. */
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
