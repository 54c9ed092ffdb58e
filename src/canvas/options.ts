// apply_async options in the two spellings: camelCase ApplyOptions (the TypeScript API) and Celery's snake_case
// (signature dicts on the wire). Canvas works in the wire spelling, as Celery does, and converts at the edges.

import type { ApplyOptions, SignatureLike } from '../task/options.js';
import type { SignatureDict } from '../protocol/task-message.js';

const CAMEL_TO_WIRE: Readonly<Record<string, string>> = {
  taskId: 'task_id', routingKey: 'routing_key', ignoreResult: 'ignore_result', timeLimit: 'time_limit',
  softTimeLimit: 'soft_time_limit', linkError: 'link_error', replyTo: 'reply_to', parentId: 'parent_id',
  rootId: 'root_id', groupId: 'group_id', groupIndex: 'group_index', retryPolicy: 'retry_policy',
  routeName: 'route_name',
};
const WIRE_TO_CAMEL: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(CAMEL_TO_WIRE).map(([k, v]) => [v, k]));

/** Celery options that only steer Python's own publishing machinery; they have no meaning here and are dropped. */
const PYTHON_ONLY = new Set(['add_to_parent', 'producer', 'connection', 'publisher', 'router', 'result_cls', 'use_link', 'immediate', 'mandatory']);

/** Options that become message properties rather than headers (Celery passes unknown options to kombu's publish). */
const PROPERTY_OPTIONS = new Set(['replaced_task_nesting']);

/** ApplyOptions (camelCase or already snake_case) → Celery's snake_case option dict; undefined values are dropped. */
export function toWireOptions(options: ApplyOptions | Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (v !== undefined) out[CAMEL_TO_WIRE[k] ?? k] = v;
  return out;
}

/**
 * A signature's snake_case options → ApplyOptions for the producer. Python's None means "not given" (Celery drops
 * None options before applying); link/link_error may be one signature or a list; nested signatures become dicts.
 */
export function toApplyOptions(options: Readonly<Record<string, unknown>>): ApplyOptions {
  const out: Record<string, unknown> = {};
  let properties: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined || v === null || PYTHON_ONLY.has(k)) continue;
    if (k === 'link' || k === 'link_error') out[WIRE_TO_CAMEL[k] ?? k] = asList(v).map(signatureLike);
    else if (k === 'chain') out.chain = asList(v).map((s) => wireValue(s) as SignatureDict);
    else if (k === 'chord') out.chord = wireValue(v) as SignatureDict;
    else if (PROPERTY_OPTIONS.has(k)) (properties ??= {})[k] = v;
    else out[WIRE_TO_CAMEL[k] ?? k] = v;
  }
  if (properties) out.extraProperties = { ...(out.extraProperties as Record<string, unknown> | undefined), ...properties };
  return out as ApplyOptions;
}

/** One value or a list of them, as a list (Celery's maybe_list). */
export function asList<T>(value: T | readonly T[] | null | undefined): T[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? [...(value as T[])] : [value as T];
}

function signatureLike(value: unknown): SignatureLike {
  return { toDict: () => wireValue(value) as SignatureDict };
}

/** Anything with toDict() (a Signature) becomes its dict, recursively through arrays and plain objects. */
export function wireValue(value: unknown, depth = 0): unknown {
  if (depth > MAX_WIRE_DEPTH) throw new RangeError(`A canvas nests deeper than ${MAX_WIRE_DEPTH} levels (a cycle?).`);
  if (value === null || typeof value !== 'object') return value;
  if (typeof (value as { toDict?: unknown }).toDict === 'function') return (value as SignatureLike).toDict();
  if (Array.isArray(value)) return value.map((v) => wireValue(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = wireValue(v, depth + 1);
  return out;
}

/** How deep a canvas may nest (signatures inside signatures); also bounds canvases received from the wire. */
export const MAX_WIRE_DEPTH = 64;
