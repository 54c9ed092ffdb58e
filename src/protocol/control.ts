// Remote-control (pidbox) payloads and names, as Celery 5 and kombu send them (REDIS-WIRE.md §11, AMQP-WIRE.md §1
// and §7): the request a client broadcasts, the reply each worker sends back, and the exchanges and queues both
// declare. Pure data; the channel is control/mailbox.ts, the worker's side worker/control/.

import { DecodeError } from '../errors.js';
import { parseJson } from './json.js';
import type { OutgoingMessage } from './message.js';
import { acceptSet, decode, encode } from './serializers.js';

/** Celery's default control_exchange: the namespace of every pidbox name. */
export const CONTROL_NAMESPACE = 'celery';
/** The fanout exchange control requests are broadcast on (kombu's pidbox exchange, default namespace). */
export const CONTROL_EXCHANGE = `${CONTROL_NAMESPACE}.pidbox`;
/** The direct exchange remote-control replies go to (kombu's pidbox reply exchange), routing key = client oid. */
export const REPLY_EXCHANGE = `reply.${CONTROL_NAMESPACE}.pidbox`;

/** The largest control request body a worker reads (a revoke of ~100k ids); larger ones are dropped with a log line. */
export const MAX_CONTROL_BODY_BYTES = 4 << 20;

/**
 * The pidbox names of one namespace (Celery's control_exchange, default 'celery'): kombu's Mailbox
 * `<ns>.pidbox` (fanout), `reply.<ns>.pidbox` (direct), `<node>.<ns>.pidbox` and `<oid>.reply.<ns>.pidbox`.
 */
export interface PidboxNames {
  readonly exchange: string;
  readonly replyExchange: string;
  nodeQueue(hostname: string): string;
  replyQueue(oid: string): string;
}

/** The pidbox names of `namespace` (Celery's control_exchange; default 'celery'). */
export function pidboxNames(namespace: string = CONTROL_NAMESPACE): PidboxNames {
  return {
    exchange: `${namespace}.pidbox`,
    replyExchange: `reply.${namespace}.pidbox`,
    nodeQueue: (hostname) => `${hostname}.${namespace}.pidbox`,
    replyQueue: (oid) => `${oid}.reply.${namespace}.pidbox`,
  };
}

/** A worker's own pidbox queue: `<hostname>.celery.pidbox` (bound to the celery.pidbox fanout). */
export const workerMailboxQueue = (hostname: string): string => pidboxNames().nodeQueue(hostname);
/** A client's reply queue for remote-control answers: `<oid>.reply.celery.pidbox`. */
export const replyQueue = (oid: string): string => pidboxNames().replyQueue(oid);

/**
 * How kombu declares both pidbox queues (AMQP-WIRE.md §1): not durable, auto-deleted, x-expires from
 * control_queue_expires (10 s) and x-message-ttl from control_queue_ttl (300 s). A declaration that differs in any
 * argument is refused by RabbitMQ (406) for whichever side declares second, so both sides must send these.
 */
export interface PidboxQueueSettings {
  /** control_queue_expires, seconds; null = no x-expires. */
  readonly expires: number | null;
  /** control_queue_ttl, seconds; null = no x-message-ttl. */
  readonly messageTtl: number | null;
}

/** kombu's defaults as Celery configures them: control_queue_expires 10 s, control_queue_ttl 300 s. */
export const DEFAULT_PIDBOX_QUEUE: PidboxQueueSettings = { expires: 10, messageTtl: 300 };

/** The queue.declare of a worker's `<node>.<ns>.pidbox`, bound to the fanout exchange with key ''. */
export function nodeQueueDeclaration(names: PidboxNames, hostname: string, s: PidboxQueueSettings) {
  return {
    name: names.nodeQueue(hostname), exchange: names.exchange, exchangeType: 'fanout' as const, routingKey: '',
    durable: false, autoDelete: true, ...ttlArgs(s),
  };
}

/** The queue.declare of a client's `<oid>.reply.<ns>.pidbox`, bound to the reply exchange with key = oid. */
export function replyQueueDeclaration(names: PidboxNames, oid: string, s: PidboxQueueSettings) {
  return {
    name: names.replyQueue(oid), exchange: names.replyExchange, exchangeType: 'direct' as const, routingKey: oid,
    durable: false, autoDelete: true, ...ttlArgs(s),
  };
}

function ttlArgs(s: PidboxQueueSettings): { expires?: number; messageTtl?: number } {
  return { ...(s.expires !== null ? { expires: s.expires } : {}), ...(s.messageTtl !== null ? { messageTtl: s.messageTtl } : {}) };
}

/** A remote-control request as kombu's Mailbox sends it (JSON body): method, arguments, destination, ticket. */
export interface ControlRequest {
  method: string;
  arguments: Record<string, unknown>;
  /** null = every worker; else the node names that should answer. */
  destination: string[] | null;
  /** With `matcher`, a pattern node names are matched against (kombu's pattern/matcher). */
  pattern: string | null;
  /** 'glob' (fnmatch) or 'pcre'; null when no pattern. */
  matcher: string | null;
  ticket: string;
  reply_to: { exchange: string; routing_key: string } | null;
}

// Signed control messages are Celery's auth serializer over json (Celery's Mailbox uses task_serializer).
const SIGNED = acceptSet(['auth']);

/**
 * A request envelope body + headers: `expires` is epoch seconds after which workers ignore it. `serializer` is
 * 'json', or 'auth' to sign it (message signing set up). Integers past 2^53 stay exact either way.
 */
export function buildControlRequest(request: ControlRequest, clock: number, expiresAt: number, serializer: 'json' | 'auth' = 'json'): OutgoingMessage {
  const { body, contentType, contentEncoding } = encode(request, serializer);
  return {
    body,
    contentType,
    contentEncoding,
    headers: { clock, expires: expiresAt },
    properties: { delivery_mode: 2 },
  };
}

/**
 * Parse a request, JSON or signed (`application/data`, verified by the auth serializer: `signed` is then true);
 * throws DecodeError for any other content type, a body too large or no method name, SecurityError for a bad
 * signature or an untrusted signer.
 */
export function parseControlRequest(message: { body: Uint8Array; contentType: string; headers: Record<string, unknown> }): { request: ControlRequest; expires: number | null; clock: number | null; signed: boolean } {
  const signed = message.contentType === 'application/data';
  if (!signed && message.contentType !== 'application/json') throw new DecodeError(`Control request with content type ${message.contentType}: only application/json and signed (auth) requests are accepted on the control channel.`);
  if (message.body.byteLength > MAX_CONTROL_BODY_BYTES) throw new DecodeError(`Control request of ${message.body.byteLength} bytes is over the ${MAX_CONTROL_BODY_BYTES}-byte limit; it was dropped.`);
  let doc: Partial<ControlRequest> | null;
  try {
    doc = (signed ? decode(message, SIGNED, 'control request') : parseJson(Buffer.from(message.body).toString('utf8'))) as Partial<ControlRequest> | null;
  } catch (error) {
    if (signed) throw error;
    throw new DecodeError(`Control request is not valid JSON (${(error as Error).message}).`);
  }
  if (typeof doc?.method !== 'string') throw new DecodeError('Control request without a method.');
  const args = doc.arguments;
  const replyTo = doc.reply_to;
  return {
    request: {
      method: doc.method,
      arguments: args && typeof args === 'object' && !Array.isArray(args) ? args : {},
      destination: Array.isArray(doc.destination) ? doc.destination.map(String) : null,
      pattern: typeof doc.pattern === 'string' ? doc.pattern : null,
      matcher: typeof doc.matcher === 'string' ? doc.matcher : null,
      ticket: String(doc.ticket ?? ''),
      reply_to: replyTo && typeof replyTo.exchange === 'string' && typeof replyTo.routing_key === 'string' ? { exchange: replyTo.exchange, routing_key: replyTo.routing_key } : null,
    },
    expires: typeof message.headers.expires === 'number' ? message.headers.expires : null,
    clock: typeof message.headers.clock === 'number' ? message.headers.clock : null,
    signed,
  };
}

/** A reply: `{ "<hostname>": <reply> }`, headers carry the request's ticket; 'auth' signs it (for a signed request). */
export function buildControlReply(hostname: string, reply: unknown, ticket: string, clock: number, serializer: 'json' | 'auth' = 'json'): OutgoingMessage {
  const { body, contentType, contentEncoding } = encode({ [hostname]: reply ?? null }, serializer);
  return {
    body,
    contentType,
    contentEncoding,
    headers: { ticket, clock },
    properties: { delivery_mode: 1 },
  };
}

/**
 * Read one worker's reply: its body (`{ hostname: answer }`) and the `ticket` header it answers (null if none).
 * A signed reply (`application/data`) is verified first; throws on a bad signature or a body that is not JSON.
 */
export function parseControlReply(message: { body: Uint8Array; contentType?: string; headers: Record<string, unknown> }): { ticket: string | null; reply: Record<string, unknown> } {
  const reply = (message.contentType === 'application/data' ? decode({ body: message.body, contentType: message.contentType }, SIGNED, 'control reply') : parseJson(Buffer.from(message.body).toString('utf8'))) as Record<string, unknown>;
  return { ticket: typeof message.headers.ticket === 'string' ? message.headers.ticket : null, reply };
}

/**
 * Whether a worker named `hostname` should handle a request, as kombu's Node decides: a non-empty destination
 * list must name it; else a pattern with a matcher must match it; else every worker handles it. Only the glob
 * matcher is supported: a pcre pattern from the wire could take exponential time in JavaScript's regex engine,
 * so such requests are left to other workers (the caller logs it).
 */
export function isForWorker(request: ControlRequest, hostname: string): boolean {
  if (request.destination !== null && request.destination.length > 0) return request.destination.includes(hostname);
  if (request.pattern !== null && request.matcher !== null) return request.matcher === 'glob' && globMatch(request.pattern, hostname);
  return true;
}

/** fnmatch's rules: `*` any run, `?` one character, `[seq]`/`[!seq]` a set; case-sensitive as on POSIX. */
export function globMatch(pattern: string, name: string): boolean {
  const tokens = globTokens(pattern);
  // The two-pointer wildcard match: O(pattern × name) at worst, whatever the pattern (no regex backtracking).
  let t = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const token = tokens[t];
    if (token && token !== '*' && token(name[n]!)) {
      t++;
      n++;
    } else if (token === '*') {
      star = t++;
      resume = n;
    } else if (star !== -1) {
      t = star + 1;
      n = ++resume;
    } else return false;
  }
  while (tokens[t] === '*') t++;
  return t === tokens.length;
}

type GlobToken = '*' | ((c: string) => boolean);

function globTokens(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (tokens[tokens.length - 1] !== '*') tokens.push('*');
    } else if (c === '?') tokens.push(() => true);
    else if (c === '[' && pattern.indexOf(']', i + 2) !== -1) {
      const end = pattern.indexOf(']', i + 2);
      const body = pattern.slice(i + 1, end);
      const negate = body.startsWith('!');
      const set = negate ? body.slice(1) : body;
      tokens.push((ch) => inSet(set, ch) !== negate);
      i = end;
    } else tokens.push((ch) => ch === c);
  }
  return tokens;
}

/** Whether `ch` is in an fnmatch set body such as `a-z0-9_`. */
function inSet(set: string, ch: string): boolean {
  for (let i = 0; i < set.length; i++) {
    if (set[i + 1] === '-' && i + 2 < set.length) {
      if (ch >= set[i]! && ch <= set[i + 2]!) return true;
      i += 2;
    } else if (set[i] === ch) return true;
  }
  return false;
}
