// Task messages: build protocol 2 exactly as Celery 5 sends them; parse protocol 2 and 1 (REDIS-WIRE.md §3, §10).

import { DecodeError, InvalidTaskError } from '../errors.js';
import { parseWireTime } from '../utils/wire-time.js';
import type { MessageProperties, OutgoingMessage } from './message.js';
import { compress, decompress } from './compression.js';
import { pyRepr } from './repr.js';
import { decode, encode, refuseUnaccepted } from './serializers.js';

/** A signature in Celery's dict shape, as it travels in embed and canvas (REDIS-WIRE.md §3.3). */
export interface SignatureDict {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
  chord_size?: number | null;
  [key: string]: unknown;
}

/** The third element of a protocol-2 body: callbacks (link), errbacks (link_error), chain and chord. */
export interface Embed {
  callbacks: SignatureDict[] | null;
  errbacks: SignatureDict[] | null;
  chain: SignatureDict[] | null;
  chord: SignatureDict | null;
}

/** The protocol-neutral view of a task message, used by the producer and the worker alike. */
export interface TaskMessage {
  id: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: Embed;
  /** ISO 8601 with offset, or null. */
  eta: string | null;
  expires: string | null;
  retries: number;
  group: string | null;
  groupIndex: number | null;
  rootId: string | null;
  parentId: string | null;
  /** [hard, soft] seconds. */
  timelimit: [number | null, number | null];
  shadow: string | null;
  origin: string | null;
  ignoreResult: boolean;
  argsrepr: string | null;
  kwargsrepr: string | null;
  replyTo: string | null;
  correlationId: string | null;
  /** Headers beyond the protocol's own (e.g. `x_custom`): exposed on the request. */
  customHeaders: Record<string, unknown>;
  /** 1 for old clients (celery-node, Celery 3). */
  protocol: 1 | 2;
  /** Celery 5.3+ stamping: the names of the stamps this message carries (header `stamped_headers`); null = none. */
  stampedHeaders?: string[] | null;
  /** Stamp name → value (header `stamps`), kept through retries and chain steps. */
  stamps?: Record<string, unknown>;
}

/** How buildTaskMessage encodes: serializer (task_serializer), compression, priority (0–255), delivery mode. */
export interface BuildOptions {
  serializer: string;
  compression?: string | null;
  priority?: number;
  deliveryMode?: 1 | 2;
  /** Extra properties copied through (retry's `origin`, `replaced_task_nesting`). */
  extraProperties?: Record<string, unknown>;
}

const PROTOCOL_HEADERS = new Set([
  'lang', 'task', 'id', 'shadow', 'eta', 'expires', 'group', 'group_index', 'retries', 'timelimit', 'root_id',
  'parent_id', 'argsrepr', 'kwargsrepr', 'origin', 'ignore_result', 'compression', 'redelivered', 'stamped_headers', 'stamps',
]);

/** An embed with no callbacks, errbacks, chain or chord (frozen). */
export const EMPTY_EMBED: Readonly<Embed> = Object.freeze({ callbacks: null, errbacks: null, chain: null, chord: null });

/** Build a protocol-2 message. Every header Python sends is present (nulls included), custom headers at top level. */
export function buildTaskMessage(m: TaskMessage, options: BuildOptions): OutgoingMessage {
  const headers: Record<string, unknown> = {
    lang: 'js',
    task: m.task,
    id: m.id,
    shadow: m.shadow,
    eta: m.eta,
    expires: m.expires,
    group: m.group,
    group_index: m.groupIndex,
    retries: m.retries,
    timelimit: m.timelimit,
    root_id: m.rootId ?? m.id,
    parent_id: m.parentId,
    argsrepr: m.argsrepr ?? pyRepr(m.args),
    kwargsrepr: m.kwargsrepr ?? pyRepr(m.kwargs),
    origin: m.origin,
    ignore_result: m.ignoreResult,
  };
  if (m.stampedHeaders?.length) {
    // As Celery 5.3+ writes them: the names, and a dict holding exactly those stamps.
    headers.stamped_headers = [...m.stampedHeaders];
    headers.stamps = Object.fromEntries(m.stampedHeaders.map((h) => [h, m.stamps?.[h] ?? null]));
  }
  for (const key in m.customHeaders) if (!(key in headers)) headers[key] = m.customHeaders[key];
  const encoded = encode([m.args, m.kwargs, m.embed], options.serializer);
  let body = encoded.body;
  if (options.compression) {
    const c = compress(body, options.compression);
    body = c.body;
    headers.compression = c.header;
  }
  const properties: MessageProperties = {
    correlation_id: m.correlationId ?? m.id,
    reply_to: m.replyTo ?? undefined,
    delivery_mode: options.deliveryMode ?? 2,
    priority: options.priority ?? 0,
    ...options.extraProperties,
  };
  if (m.expires) {
    // kombu sends the remaining lifetime as a string of milliseconds ("0" when already past).
    const expires = parseWireTime(m.expires, 'expires', { taskId: m.id, taskName: m.task });
    if (expires instanceof InvalidTaskError) throw expires;
    properties.expiration = String(Math.max(0, expires.epochMs - Date.now()));
  }
  return { body, contentType: encoded.contentType, contentEncoding: encoded.contentEncoding, headers, properties };
}

/**
 * Parse a task message of protocol 2 (headers carry `task`) or 1 (everything in the body). The content type is
 * checked against `accept` first; only then is a compressed body expanded, to at most `maxDecompressedBytes`.
 * Throws ContentDisallowed or DecodeError (bad body, non-string id, body too large).
 */
export function parseTaskMessage(
  msg: Pick<OutgoingMessage, 'body' | 'contentType' | 'headers' | 'properties'>,
  accept: ReadonlySet<string>,
  where = '',
  maxDecompressedBytes?: number,
): TaskMessage {
  const h = msg.headers ?? {};
  const at = (id?: unknown) => [typeof id === 'string' && id ? `task ${id}` : '', where].filter(Boolean).join(', ');
  // Named once per message: this text only ever appears in an error.
  const here = at(h.id);
  refuseUnaccepted(msg.contentType, accept, here);
  const body = typeof h.compression === 'string' ? decompress(msg.body, h.compression, maxDecompressedBytes) : msg.body;
  if (typeof h.task === 'string') return parseV2(h, decode({ body, contentType: msg.contentType }, accept, here), msg.properties, here);
  const doc = decode({ body, contentType: msg.contentType }, accept, at());
  if (typeof doc === 'object' && doc !== null && !Array.isArray(doc) && typeof (doc as { task?: unknown }).task === 'string') {
    return parseV1(doc as Record<string, unknown>, msg.properties);
  }
  throw new DecodeError(`Message${at() ? ` (${at()})` : ''} is not a Celery task: no task name in headers (protocol 2) or body (protocol 1).`);
}

function parseV2(h: Record<string, unknown>, doc: unknown, props: MessageProperties, where: string): TaskMessage {
  if (!Array.isArray(doc) || doc.length !== 3) {
    throw new DecodeError(`Task body (${where}) must be a 3-element array [args, kwargs, embed]; got ${describe(doc)}.`);
  }
  const [args, kwargs, embed] = doc as [unknown, unknown, unknown];
  if (!Array.isArray(args)) throw new DecodeError(`Task args (${where}) must be an array; got ${describe(args)}.`);
  if (!isPlainObject(kwargs)) throw new DecodeError(`Task kwargs (${where}) must be an object; got ${describe(kwargs)}.`);
  const e = isPlainObject(embed) ? (embed as Partial<Embed>) : {};
  const custom: Record<string, unknown> = {};
  for (const key in h) if (!PROTOCOL_HEADERS.has(key)) custom[key] = h[key];
  const id = taskIdOf(h.id, where);
  const names = stampNames(h);
  return {
    id,
    task: h.task as string,
    args,
    kwargs: kwargs as Record<string, unknown>,
    embed: { callbacks: e.callbacks ?? null, errbacks: e.errbacks ?? null, chain: e.chain ?? null, chord: e.chord ?? null },
    eta: wireTimeText(h.eta, 'eta', id, h.task as string),
    expires: wireTimeText(h.expires, 'expires', id, h.task as string),
    retries: typeof h.retries === 'number' ? h.retries : 0,
    group: strOrNull(h.group),
    groupIndex: typeof h.group_index === 'number' ? h.group_index : null,
    rootId: strOrNull(h.root_id),
    parentId: strOrNull(h.parent_id),
    timelimit: timelimitOf(h.timelimit),
    shadow: strOrNull(h.shadow),
    origin: strOrNull(h.origin),
    ignoreResult: h.ignore_result === true,
    argsrepr: strOrNull(h.argsrepr),
    kwargsrepr: strOrNull(h.kwargsrepr),
    replyTo: strOrNull(props.reply_to),
    correlationId: strOrNull(props.correlation_id),
    customHeaders: custom,
    protocol: 2,
    stampedHeaders: names,
    stamps: stampsOf(h, names),
  };
}

/** A task id must be a non-empty string: anything else would share one result key (`[object Object]`). */
function taskIdOf(id: unknown, where: string): string {
  if (typeof id === 'string' && id !== '') return id;
  throw new DecodeError(`Task id (${where}) must be a non-empty string; got ${describe(id)}. Send the task with a string id (a UUID).`);
}

/** `stamped_headers` (a list of names) as Celery 5.3+ sends it; null on older clients. */
function stampNames(h: Record<string, unknown>): string[] | null {
  return Array.isArray(h.stamped_headers) ? h.stamped_headers.filter((x): x is string => typeof x === 'string') : null;
}

/** `stamps` as Celery's Request.stamps reads it: only the names listed in stamped_headers, each looked up in the dict. */
function stampsOf(h: Record<string, unknown>, names: string[] | null): Record<string, unknown> {
  if (!names) return {};
  const dict = isPlainObject(h.stamps) ? (h.stamps as Record<string, unknown>) : {};
  return Object.fromEntries(names.map((n) => [n, dict[n] ?? null]));
}

function parseV1(b: Record<string, unknown>, props: MessageProperties): TaskMessage {
  const id = taskIdOf(b.id, 'protocol 1 body');
  const args = Array.isArray(b.args) ? b.args : [];
  const kwargs = isPlainObject(b.kwargs) ? (b.kwargs as Record<string, unknown>) : {};
  return {
    id,
    task: b.task as string,
    args,
    kwargs,
    // Protocol 1 expresses a chain as callbacks; chord is the body signature.
    embed: {
      callbacks: (b.callbacks as SignatureDict[] | null) ?? null,
      errbacks: (b.errbacks as SignatureDict[] | null) ?? null,
      chain: null,
      chord: (b.chord as SignatureDict | null) ?? null,
    },
    eta: wireTimeText(b.eta, 'eta', id, b.task as string),
    expires: wireTimeText(b.expires, 'expires', id, b.task as string),
    retries: typeof b.retries === 'number' ? b.retries : 0,
    group: strOrNull(b.taskset) ?? strOrNull(b.group),
    groupIndex: typeof b.group_index === 'number' ? b.group_index : null,
    rootId: null,
    parentId: null,
    timelimit: timelimitOf(b.timelimit),
    shadow: null,
    origin: null,
    ignoreResult: false,
    argsrepr: null,
    kwargsrepr: null,
    replyTo: strOrNull(props.reply_to),
    correlationId: strOrNull(props.correlation_id),
    customHeaders: {},
    protocol: 1,
  };
}

/** An eta/expires field as sent, or null when absent; throws InvalidTaskError naming the value if it is no date. */
function wireTimeText(value: unknown, field: 'eta' | 'expires', taskId: string, taskName: string): string | null {
  if (value === null || value === undefined) return null;
  const parsed = parseWireTime(value, field, { taskId, taskName });
  if (parsed instanceof InvalidTaskError) throw parsed;
  return parsed.text;
}

function timelimitOf(v: unknown): [number | null, number | null] {
  if (!Array.isArray(v)) return [null, null];
  const n = (x: unknown) => (typeof x === 'number' ? x : null);
  return [n(v[0]), n(v[1])];
}

function strOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Array.isArray(v) ? 'an array' : typeof v; // too deep or circular to print
  }
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
