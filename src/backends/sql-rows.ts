// Celery's database-backend rows (SQL-WIRE.md §2) ↔ result documents, shared by the SQLite and PostgreSQL backends:
// the column values of a task row, a row read back as a ResultMeta, saved groups, chord parts, dates, and the
// timeout error. The backends differ only in how they run SQL.
//
// Beyond Celery's columns, celery_taskmeta.celeriac_meta holds JSON {children, parent_id, group_id[, date_done:
// null]} that Python has no column for; Python ignores it.

import { TimeoutError, UnsupportedEncoding } from '../errors.js';
import { pickleLoads } from '../protocol/pickle.js';
import { pickleDumps } from '../protocol/pickle-writer.js';
import type { ResultMeta, ResultTuple } from '../protocol/result-meta.js';
import { acceptSet, decode, encode } from '../protocol/serializers.js';
import { sqlDateTime } from '../drivers/sql-dialect.js';
import type { ChordPart, MemberTuple } from './backend.js';

const anySerializer = acceptSet(['json', 'msgpack', 'yaml', 'auth']);

/** A celery_taskmeta row as both drivers return it. */
export interface TaskRow {
  task_id: string;
  status: string | null;
  result: Buffer | null;
  date_done: string | null;
  traceback: string | null;
  name: string | null;
  args: Buffer | string | null;
  kwargs: Buffer | string | null;
  worker: string | null;
  retries: number | null;
  queue: string | null;
  celeriac_meta: string | null;
}

interface Extra { children?: ResultTuple[]; parent_id?: string; group_id?: string; date_done?: null }

/**
 * The values of an upsert into celery_taskmeta, in the order of RESULT_SQL's upsertTask: task_id, status, result,
 * date_done, traceback, name, args, kwargs, worker, retries, queue, celeriac_meta.
 */
export function taskRowValues(taskId: string, meta: ResultMeta, serializer: string): unknown[] {
  const extra: Extra = {};
  if (meta.children?.length) extra.children = meta.children;
  if (meta.parent_id) extra.parent_id = meta.parent_id;
  if (meta.group_id) extra.group_id = meta.group_id;
  // Python fills date_done for every state; remember that ours was null (STARTED, RETRY) so a read returns it so.
  if (meta.date_done === null || meta.date_done === undefined) extra.date_done = null;
  const dateDone = meta.date_done ? toSqlDate(meta.date_done) : sqlDateTime(new Date(), true);
  const extended = meta.name !== undefined || meta.args !== undefined || meta.kwargs !== undefined || meta.worker !== undefined;
  return [
    taskId,
    meta.status,
    pickleDumps(meta.result),
    dateDone,
    meta.traceback ?? null,
    extended ? meta.name ?? null : null,
    extended && meta.args !== undefined ? Buffer.from(encode(meta.args, serializer).body) : null,
    extended && meta.kwargs !== undefined ? Buffer.from(encode(meta.kwargs, serializer).body) : null,
    extended ? meta.worker ?? null : null,
    extended && typeof meta.retries === 'number' ? meta.retries : null,
    extended ? meta.queue ?? null : null,
    Object.keys(extra).length ? JSON.stringify(extra) : null,
  ];
}

/** A stored row as Celery's result document; `contentType` is the result serializer's, for args/kwargs. */
export function rowToMeta(row: TaskRow, contentType: string, displayUrl: string): ResultMeta {
  const taskId = row.task_id;
  let extra: Extra = {};
  try {
    extra = row.celeriac_meta ? (JSON.parse(row.celeriac_meta) as Extra) : {};
  } catch {
    // A damaged extra column loses only children/parent/group, never the result.
  }
  let result: unknown = null;
  if (row.result) {
    try {
      result = pickleLoads(row.result);
    } catch (cause) {
      throw new UnsupportedEncoding(`The stored result of task ${taskId} in ${displayUrl} cannot be read: ${(cause as Error).message}`, { cause, context: { taskId, url: displayUrl } });
    }
  }
  const meta = {
    status: row.status ?? 'PENDING',
    result,
    traceback: row.traceback ?? null,
    children: extra.children ?? [],
    date_done: 'date_done' in extra && extra.date_done === null ? null : fromSqlDate(row.date_done),
  } as ResultMeta;
  if (extra.parent_id) meta.parent_id = extra.parent_id;
  if (extra.group_id) meta.group_id = extra.group_id;
  meta.task_id = taskId;
  if (row.name !== null || row.args !== null || row.kwargs !== null || row.worker !== null || row.queue !== null) {
    meta.name = row.name;
    meta.args = decodeColumn(row.args, contentType, taskId);
    meta.kwargs = decodeColumn(row.kwargs, contentType, taskId);
    meta.worker = row.worker;
    meta.retries = row.retries;
    meta.queue = row.queue;
  }
  return meta;
}

/** args/kwargs as result_serializer text (Python writes b'[2, 3]'); unreadable text is returned as text. */
function decodeColumn(value: Buffer | string | null, contentType: string, taskId: string): unknown {
  if (value === null) return null;
  const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  try {
    return decode({ body, contentType }, anySerializer, `result of task ${taskId}`);
  } catch {
    return body.toString('utf8');
  }
}

/** The pickled celery_tasksetmeta.result of a saved group: a plain dict, never a GroupResult object. */
export function groupResultValue(groupId: string, members: readonly MemberTuple[]): Buffer {
  return pickleDumps({ result: [[groupId, null], members] });
}

/** The member tuples of a saved group's pickled value. */
export function groupMembers(groupId: string, value: Buffer | null, displayUrl: string): MemberTuple[] {
  let doc: unknown;
  try {
    doc = value ? pickleLoads(value) : null;
  } catch (cause) {
    throw new UnsupportedEncoding(`Group ${groupId} in ${displayUrl} was saved in a form celeriac does not read (Python Celery stores a pickled GroupResult object there): ${(cause as Error).message}`, { cause, context: { url: displayUrl } });
  }
  const members = (doc as { result?: [unknown, unknown[]] } | null)?.result?.[1];
  return Array.isArray(members) ? members : [];
}

/** celeriac_chord_part rows → the parts of a completed chord. */
export function chordParts(rows: ReadonlyArray<{ idx: number; task_id: string; state: string; result: Buffer | null }>): ChordPart[] {
  return rows.map((r) => ({ index: r.idx, taskId: r.task_id, state: r.state, result: r.result ? pickleLoads(r.result) : null }));
}

/** The error of a wait that ran out, saying what is stored so far. */
export function resultTimeout(taskId: string, timeoutMs: number | undefined, stored: ResultMeta | null, displayUrl: string): TimeoutError {
  const state = stored ? `its state is still ${stored.status}` : 'nothing is stored for it yet (PENDING)';
  return new TimeoutError(`The result of task ${taskId} was not ready within ${(timeoutMs ?? 0) / 1000} s (backend ${displayUrl}): ${state}. Is a worker consuming its queue, with the same result_backend?`, { context: { taskId, url: displayUrl } });
}

/** ISO `2026-11-25T02:22:47.629972` (ResultMeta) → Python's naive `2026-11-25 02:22:47.629972`. */
function toSqlDate(iso: string): string {
  return iso.replace('T', ' ').replace(/(Z|[+-]00:?00)$/, '');
}

/** Python's naive UTC datetime text → ResultMeta's ISO form with six fraction digits. */
function fromSqlDate(text: string | null): string | null {
  if (!text) return null;
  const [date, time = '00:00:00'] = String(text).split(/[ T]/);
  const [hms, frac = ''] = time.split('.');
  return `${date}T${hms}.${frac.padEnd(6, '0').slice(0, 6)}`;
}
