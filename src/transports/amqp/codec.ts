// AMQP 0-9-1 message mapping, pure: OutgoingMessage → amqplib publish options, amqplib message → IncomingMessage.
// Header values get the field-table types Python's py-amqp writes (AMQP-WIRE.md §3.3): None → V, integers → I
// (signed 32-bit) or l when larger, floats → d, booleans → t, strings → S, lists → A, dicts → F.

import { CeleryError, DecodeError } from '../../errors.js';
import type { IncomingMessage, MessageProperties, OutgoingMessage } from '../transport.js';

/** A value amqplib encodes with an explicit field-table type (`{'!': 'int', value: 10}`). */
export interface TypedValue { readonly '!': string; readonly value: unknown }

/** A signed 32-bit field-table value (`I`), as py-amqp sends x-max-priority and x-expires. */
export const int32 = (value: number): TypedValue => ({ '!': 'int', value });

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** One header value as amqplib should encode it, typed as py-amqp would type it. */
export function toFieldValue(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isInteger(value)) {
        if (value >= INT32_MIN && value <= INT32_MAX) return { '!': 'int', value };
        if (Number.isSafeInteger(value)) return { '!': 'long', value };
      }
      return { '!': 'double', value };
    case 'bigint':
      return value >= BigInt(INT32_MIN) && value <= BigInt(INT32_MAX) ? { '!': 'int', value: Number(value) } : { '!': 'long', value: Number(value) };
    case 'undefined':
    case 'function':
    case 'symbol':
      return null;
    default:
      break;
  }
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(toFieldValue);
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Date) return { '!': 'timestamp', value: Math.floor(value.getTime() / 1000) };
  const obj = value as Record<string, unknown>;
  // An explicitly typed value passes through, so callers can force a type (e.g. a float that happens to be whole).
  if (typeof obj['!'] === 'string' && 'value' in obj && Object.keys(obj).length === 2) return obj;
  return toFieldTable(obj);
}

/** A header table for amqplib: every value typed, undefined entries left out (as JSON would). */
export function toFieldTable(table: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!table) return out;
  for (const [key, value] of Object.entries(table)) {
    if (value === undefined) continue;
    out[key] = toFieldValue(value);
  }
  return out;
}

/** A decoded field value as plain data: amqplib's typed wrappers (timestamp, decimal) unwrapped. */
export function fromFieldValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(fromFieldValue);
  const obj = value as Record<string, unknown>;
  if (obj['!'] === 'timestamp') return Number(obj.value);
  if (obj['!'] === 'decimal') {
    const d = obj.value as { places?: number; digits?: number } | undefined;
    return Number(d?.digits ?? 0) / 10 ** Number(d?.places ?? 0);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = fromFieldValue(v);
  return out;
}

/** The options amqplib's publish takes: the AMQP basic properties, camel-cased. */
export interface PublishOptions {
  contentType?: string;
  contentEncoding?: string;
  headers: Record<string, unknown>;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
  mandatory?: boolean;
}

// kombu property name → amqplib option name, for the short-string properties.
const SHORT_STRINGS: ReadonlyArray<readonly [string, keyof PublishOptions]> = [
  ['correlation_id', 'correlationId'],
  ['reply_to', 'replyTo'],
  ['expiration', 'expiration'],
  ['message_id', 'messageId'],
  ['type', 'type'],
  ['user_id', 'userId'],
  ['app_id', 'appId'],
];

/** AMQP short strings hold at most 255 bytes; amqplib would fail mid-frame, so refuse before sending. */
function checkShort(what: string, value: string): void {
  if (Buffer.byteLength(value, 'utf8') > 255) {
    throw new CeleryError(`Cannot publish: ${what} is longer than 255 bytes, the AMQP limit (${value.slice(0, 40)}…). Use a shorter value.`);
  }
}

/**
 * amqplib publish options for a message. Properties AMQP has no field for (anything beyond the basic properties)
 * are not sent, as with py-amqp. Throws CeleryError for values AMQP cannot carry (over-long short strings).
 */
export function toPublishOptions(message: OutgoingMessage, route: { exchange: string; routingKey: string }): PublishOptions {
  checkShort('the exchange name', route.exchange);
  checkShort('the routing key', route.routingKey);
  const p: MessageProperties = message.properties ?? {};
  const options: PublishOptions = { headers: toFieldTable(message.headers) };
  if (message.contentType) {
    checkShort('content_type', message.contentType);
    options.contentType = message.contentType;
  }
  if (message.contentEncoding) {
    checkShort('content_encoding', message.contentEncoding);
    options.contentEncoding = message.contentEncoding;
  }
  if (p.delivery_mode !== undefined && p.delivery_mode !== null) options.deliveryMode = Number(p.delivery_mode) === 1 ? 1 : 2;
  if (typeof p.priority === 'number' && Number.isFinite(p.priority)) options.priority = Math.max(0, Math.min(255, Math.trunc(p.priority)));
  for (const [name, option] of SHORT_STRINGS) {
    const value = p[name];
    if (value === undefined || value === null) continue;
    const text = String(value);
    checkShort(name, text);
    if (name === 'expiration' && !/^\d+$/.test(text)) {
      // RabbitMQ closes the channel (406) for anything but a non-negative integer string.
      throw new CeleryError(`Cannot publish: expiration '${text}' is not a whole number of milliseconds. Pass it like '60000'.`);
    }
    (options as unknown as Record<string, unknown>)[option] = text;
  }
  if (typeof p.timestamp === 'number' && Number.isFinite(p.timestamp)) options.timestamp = Math.max(0, Math.trunc(p.timestamp));
  return options;
}

/** What amqplib hands a consumer (the parts we read). */
export interface RawMessage {
  content: Buffer;
  fields: { deliveryTag: number; redelivered: boolean; exchange: string; routingKey: string; consumerTag?: string };
  properties: Record<string, unknown> & { headers?: unknown };
}

// amqplib property name → kombu property name.
const INCOMING: ReadonlyArray<readonly [string, string]> = [
  ['correlationId', 'correlation_id'],
  ['replyTo', 'reply_to'],
  ['deliveryMode', 'delivery_mode'],
  ['priority', 'priority'],
  ['expiration', 'expiration'],
  ['messageId', 'message_id'],
  ['timestamp', 'timestamp'],
  ['type', 'type'],
  ['userId', 'user_id'],
  ['appId', 'app_id'],
  ['clusterId', 'cluster_id'],
];

/**
 * The IncomingMessage for an amqplib delivery. Never throws: when the properties cannot be read, the message keeps
 * the raw body with empty headers and `decodeError` says why, so the consumer can reject it.
 */
export function toIncoming(raw: RawMessage): { message: IncomingMessage; decodeError?: Error } {
  const body: Buffer = Buffer.isBuffer(raw?.content) ? raw.content : Buffer.alloc(0);
  const fields = raw?.fields ?? ({} as RawMessage['fields']);
  const deliveryInfo = {
    exchange: String(fields.exchange ?? ''),
    routing_key: String(fields.routingKey ?? ''),
    redelivered: Boolean(fields.redelivered),
  };
  try {
    const p = raw.properties ?? {};
    const rawHeaders = p.headers;
    if (rawHeaders !== undefined && rawHeaders !== null && (typeof rawHeaders !== 'object' || Array.isArray(rawHeaders))) {
      throw new DecodeError(`headers is a ${Array.isArray(rawHeaders) ? 'list' : typeof rawHeaders}, not a table`);
    }
    const headers = (rawHeaders ? fromFieldValue(rawHeaders) : {}) as Record<string, unknown>;
    const properties: MessageProperties = {};
    for (const [from, to] of INCOMING) {
      const value = p[from];
      if (value !== undefined && value !== null) properties[to] = value;
    }
    const priority = typeof p.priority === 'number' ? p.priority : undefined;
    return {
      message: {
        body,
        contentType: typeof p.contentType === 'string' ? p.contentType : '',
        contentEncoding: typeof p.contentEncoding === 'string' ? p.contentEncoding : '',
        headers,
        properties,
        deliveryInfo: priority === undefined ? deliveryInfo : { ...deliveryInfo, priority },
      },
    };
  } catch (error) {
    return {
      message: { body, contentType: '', contentEncoding: '', headers: {}, properties: {}, deliveryInfo },
      decodeError: new DecodeError(`Cannot read the AMQP properties of a message from exchange '${deliveryInfo.exchange}' with routing key '${deliveryInfo.routing_key}': ${(error as Error).message}. Reject it.`, { cause: error }),
    };
  }
}
