// The result document Celery stores per task (REDIS-WIRE.md §6.1): field order and formats as Python writes them.

import { encode, decode, acceptSet, getSerializer } from './serializers.js';
import { DecodeError, InvalidTaskError } from '../errors.js';
import { parseWireTime } from '../utils/wire-time.js';

/** `[[child_id, null], null]`: a result tuple as Celery stores it in `children`. */
export type ResultTuple = [[string, null], null] | unknown[];

/**
 * The result document Celery stores per task (REDIS-WIRE.md §6.1): status, result (value or exception
 * document), traceback, children, date_done; the name/args/kwargs/worker/retries/queue with result_extended.
 */
export interface ResultMeta {
  status: string;
  result: unknown;
  traceback: string | null;
  children: ResultTuple[];
  /** UTC ISO 8601 without offset, microseconds; null for STARTED and RETRY. */
  date_done: string | null;
  parent_id?: string;
  group_id?: string;
  task_id: string;
  // result_extended fields
  name?: string | null;
  args?: unknown;
  kwargs?: unknown;
  worker?: string | null;
  retries?: number | null;
  queue?: string | null;
}

/** What buildResultMeta needs, camelCase; dates as Date (written as Celery's UTC ISO text). */
export interface MetaInput {
  taskId: string;
  status: string;
  result: unknown;
  traceback?: string | null;
  children?: ResultTuple[];
  dateDone?: Date | null;
  parentId?: string | null;
  groupId?: string | null;
  extended?: { name?: string | null; args?: unknown; kwargs?: unknown; worker?: string | null; retries?: number | null; queue?: string | null };
}

/** Python's `datetime.utcnow().isoformat()`: no offset, six fraction digits. */
export function formatDateDone(date: Date): string {
  const ms = date.getTime();
  // A busy worker finishes many tasks within one millisecond: their text is made once.
  if (ms !== lastDateDone.ms) lastDateDone = { ms, text: `${date.toISOString().slice(0, 23)}000` };
  return lastDateDone.text;
}

let lastDateDone = { ms: Number.NaN, text: '' };

/** Build a result document; parent_id/group_id appear only when set, before task_id, as Celery writes them. */
export function buildResultMeta(input: MetaInput): ResultMeta {
  const meta: ResultMeta = {
    status: input.status,
    result: input.result,
    traceback: input.traceback ?? null,
    children: input.children ?? [],
    date_done: input.dateDone === null ? null : formatDateDone(input.dateDone ?? new Date()),
  } as ResultMeta;
  if (input.parentId) meta.parent_id = input.parentId;
  if (input.groupId) meta.group_id = input.groupId;
  meta.task_id = input.taskId;
  if (input.extended) Object.assign(meta, input.extended);
  return meta;
}

/** A result document as bytes of `serializer` (result_serializer); throws DecodeError for an unknown serializer. */
export function encodeResultMeta(meta: ResultMeta, serializer: string): Uint8Array {
  return encode(meta, serializer).body;
}

const everyType = acceptSet(['json', 'msgpack', 'yaml', 'auth']);

/** Decode a stored document written with `serializer`; tolerates missing keys as Python's reader does. */
export function decodeResultMeta(bytes: Uint8Array, serializer: string, taskId?: string): ResultMeta {
  const contentType = getSerializer(serializer)?.contentType ?? serializer;
  const doc = decode({ body: bytes, contentType }, everyType, taskId ? `result of task ${taskId}` : 'result');
  if (typeof doc !== 'object' || doc === null || typeof (doc as ResultMeta).status !== 'string') {
    throw new DecodeError(`Stored result${taskId ? ` of task ${taskId}` : ''} is not a Celery result document.`, { context: taskId ? { taskId } : {} });
  }
  const meta = doc as ResultMeta;
  meta.traceback ??= null;
  meta.children ??= [];
  meta.date_done ??= null;
  if (taskId) meta.task_id ??= taskId;
  return meta;
}

/** Parse a date_done with the one wire-time parser (no offset means UTC, as Celery writes it); null if absent or not a date. */
export function parseDateDone(text: string | null | undefined): Date | null {
  if (!text) return null;
  const parsed = parseWireTime(text, 'date_done');
  return parsed instanceof InvalidTaskError ? null : new Date(parsed.epochMs);
}
