// Remote-control (pidbox) payloads, as Celery 5 sends them (REDIS-WIRE.md §11, AMQP-WIRE.md): the request a
// client broadcasts and the reply each worker sends back. Pure data; the channel is control/mailbox.ts.

import { DecodeError } from '../errors.js';
import { parseJson, stringifyJson } from './json.js';
import type { OutgoingMessage } from './message.js';

/** Where control requests are broadcast (fanout) and where replies go (direct, routing key = client oid). */
export const CONTROL_EXCHANGE = 'celery.pidbox';
/** The direct exchange remote-control replies go to (kombu's pidbox reply exchange). */
export const REPLY_EXCHANGE = 'reply.celery.pidbox';

/** A worker's own pidbox queue: `<hostname>.celery.pidbox` (bound to the celery.pidbox fanout). */
export const workerMailboxQueue = (hostname: string): string => `${hostname}.celery.pidbox`;
/** A client's reply queue for remote-control answers: `<oid>.reply.celery.pidbox`. */
export const replyQueue = (oid: string): string => `${oid}.reply.celery.pidbox`;

/** A remote-control request as kombu's Mailbox sends it (JSON body): method, arguments, destination, ticket. */
export interface ControlRequest {
  method: string;
  arguments: Record<string, unknown>;
  /** null = every worker; else the node names that should answer. */
  destination: string[] | null;
  pattern: string | null;
  matcher: string | null;
  ticket: string;
  reply_to: { exchange: string; routing_key: string } | null;
}

// Replies carry task arguments (inspect active/reserved): integers past 2^53 stay exact.
const json = (value: unknown) => Buffer.from(stringifyJson(value), 'utf8');

/** A request envelope body + headers: `expires` is epoch seconds after which workers ignore it. */
export function buildControlRequest(request: ControlRequest, clock: number, expiresAt: number): OutgoingMessage {
  return {
    body: json(request),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { clock, expires: expiresAt },
    properties: { delivery_mode: 2 },
  };
}

/**
 * Read a control request and its `expires` header (epoch s, null = none). Throws DecodeError for non-JSON
 * or a body without a method.
 */
export function parseControlRequest(message: { body: Uint8Array; contentType: string; headers: Record<string, unknown> }): { request: ControlRequest; expires: number | null } {
  if (message.contentType !== 'application/json') throw new DecodeError(`Control request with content type ${message.contentType}: only application/json is accepted on the control channel.`);
  const doc = parseJson(Buffer.from(message.body).toString('utf8')) as Partial<ControlRequest>;
  if (typeof doc?.method !== 'string') throw new DecodeError('Control request without a method.');
  return {
    request: {
      method: doc.method,
      arguments: (doc.arguments ?? {}) as Record<string, unknown>,
      destination: Array.isArray(doc.destination) ? doc.destination.map(String) : null,
      pattern: doc.pattern ?? null,
      matcher: doc.matcher ?? null,
      ticket: String(doc.ticket ?? ''),
      reply_to: doc.reply_to ?? null,
    },
    expires: typeof message.headers.expires === 'number' ? message.headers.expires : null,
  };
}

/** A reply: `{ "<hostname>": <reply> }`, headers carry the request's ticket. */
export function buildControlReply(hostname: string, reply: unknown, ticket: string, clock: number): OutgoingMessage {
  return {
    body: json({ [hostname]: reply }),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { ticket, clock },
    properties: { delivery_mode: 1 },
  };
}

/** Read one worker's reply: its body (`{ hostname: answer }`) and the `ticket` header it answers (null if none). */
export function parseControlReply(message: { body: Uint8Array; headers: Record<string, unknown> }): { ticket: string | null; reply: Record<string, unknown> } {
  const reply = parseJson(Buffer.from(message.body).toString('utf8')) as Record<string, unknown>;
  return { ticket: typeof message.headers.ticket === 'string' ? message.headers.ticket : null, reply };
}

/** Whether a worker named `hostname` should handle a request with this destination. */
export function isForWorker(request: ControlRequest, hostname: string): boolean {
  return request.destination === null || request.destination.length === 0 || request.destination.includes(hostname);
}
