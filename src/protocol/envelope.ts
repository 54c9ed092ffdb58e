// kombu's JSON envelope, used on every non-AMQP broker (Redis lists, SQL rows, pub/sub):
// {"body", "content-encoding", "content-type", "headers", "properties"} with a base64 body. REDIS-WIRE.md §2.

import { randomUUID } from 'node:crypto';
import { DecodeError } from '../errors.js';
import { parseJson, stringifyJson } from './json.js';
import type { DeliveryInfo, IncomingMessage, MessageProperties, OutgoingMessage, Route } from './message.js';

/** A decoded envelope: the message plus the producer-chosen delivery tag. */
export interface DecodedEnvelope extends IncomingMessage {
  readonly deliveryTag: string;
}

/**
 * Encode a message for a virtual broker. Key order follows kombu (body, content-encoding, content-type, headers,
 * properties); `delivery_info` is always present because a Python worker exits on a message without it.
 */
export function encodeEnvelope(message: OutgoingMessage, route: Route, deliveryTag: string = randomUUID()): string {
  const properties: Record<string, unknown> = {};
  for (const key in message.properties) {
    const v = message.properties[key];
    if (v !== undefined) properties[key] = v;
  }
  properties.delivery_mode ??= 2;
  properties.delivery_info = { exchange: route.exchange, routing_key: route.routingKey };
  properties.priority ??= 0;
  properties.body_encoding = 'base64';
  properties.delivery_tag = deliveryTag;
  // Headers may hold a caller's values (custom headers): bigint stays exact.
  return stringifyJson({
    body: Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('base64'),
    'content-encoding': message.contentEncoding,
    'content-type': message.contentType,
    headers: message.headers,
    properties,
  });
}

/**
 * Decode an envelope. Survives what kills a Python worker: a missing delivery_info is filled from `queue`;
 * anything that is not an envelope at all is a DecodeError naming the queue.
 */
export function decodeEnvelope(raw: string, queue: string): DecodedEnvelope {
  let doc: unknown;
  try {
    doc = parseJson(raw);
  } catch (cause) {
    throw new DecodeError(`Message on queue '${queue}' is not JSON: ${preview(raw)}. It was not sent by Celery; it is rejected.`, { cause, context: { queue } });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new DecodeError(`Message on queue '${queue}' is not a kombu envelope object: ${preview(raw)}.`, { context: { queue } });
  }
  const env = doc as Record<string, unknown>;
  const props = isObject(env.properties) ? (env.properties as MessageProperties & Record<string, unknown>) : {};
  const body = env.body;
  if (typeof body !== 'string' && body !== null && body !== undefined) {
    throw new DecodeError(`Message on queue '${queue}' has a body that is not a string.`, { context: { queue } });
  }
  const bytes = body == null ? Buffer.alloc(0) : props.body_encoding === 'base64' ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  const info = isObject(props.delivery_info) ? (props.delivery_info as unknown as DeliveryInfo) : { exchange: '', routing_key: queue };
  return {
    body: bytes,
    contentType: typeof env['content-type'] === 'string' ? env['content-type'] : 'application/data',
    contentEncoding: typeof env['content-encoding'] === 'string' ? env['content-encoding'] : 'binary',
    headers: isObject(env.headers) ? (env.headers as Record<string, unknown>) : {},
    properties: props,
    deliveryInfo: info,
    deliveryTag: typeof props.delivery_tag === 'string' ? props.delivery_tag : randomUUID(),
  };
}

/** Mark a raw envelope as redelivered in headers and delivery_info, as kombu's restore does (REDIS-WIRE.md §5.4). */
export function markRedelivered(raw: string): string {
  const env = parseJson(raw) as Record<string, Record<string, unknown>>;
  env.headers = { ...(env.headers ?? {}), redelivered: true };
  const props = env.properties ?? {};
  props.delivery_info = { ...((props.delivery_info as object) ?? {}), redelivered: true };
  env.properties = props;
  return stringifyJson(env);
}

/** markRedelivered, or the raw text unchanged when it is not an envelope (the consumer reports it again). */
export function markRedeliveredIfEnvelope(raw: string): string {
  try {
    return markRedelivered(raw);
  } catch {
    return raw;
  }
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function preview(raw: string): string {
  return JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw);
}
