// sqlite:// (db+sqlite://) results on Celery's database-backend tables (SQL-WIRE.md §2): celery_taskmeta rows with a
// pickled `result` (plain data only, protocol/pickle.ts), celery_tasksetmeta for saved groups, and a small chord
// counter of our own. Python Celery's `db+sqlite://` backend on the same file reads celeriac's task results and
// vice versa. Waiting polls (no push). PostgreSQL will reuse the SQL in transports/sql/dialect.ts.
//
// Beyond Celery's tables (all ignored by Python):
//   celery_taskmeta.celeriac_meta  JSON {children, parent_id, group_id[, date_done: null]} Python has no column for
//   celeriac_chord                 group_id → header size (setChordSize)
//   celeriac_chord_part            one row per finished header task (group_id, idx) → state and pickled result;
//                                  addChordPart counts them in one IMMEDIATE transaction, so exactly one caller
//                                  completes the chord. Python's database backend uses celery.chord_unlock instead.
// Saved groups are written as a pickled plain dict; a group Python saved (a pickled GroupResult object) is refused
// with UnsupportedEncoding rather than unpickled.

import type Database from 'better-sqlite3';
import { OperationalError, TimeoutError, UnsupportedEncoding } from '../errors.js';
import { redactUrl } from '../config/urls.js';
import { pickleDumps, pickleLoads } from '../protocol/pickle.js';
import type { ResultMeta, ResultTuple } from '../protocol/result-meta.js';
import { acceptSet, decode, encode, getSerializer } from '../protocol/serializers.js';
import { READY_STATES } from '../states.js';
import { sleep } from '../utils/backoff.js';
import { DIALECTS, RESULT_ADDED_COLUMNS, RESULT_SQL, resultSchema, sqlDateTime } from '../transports/sql/dialect.js';
import { openSqliteDatabase, sqliteFileOf } from '../transports/sql/sqlite.js';
import type { BackendFactory, BackendOptions, ChordPart, ResultBackend, WaitOptions } from './backend.js';

const D = DIALECTS.sqlite;
const anySerializer = acceptSet(['json', 'msgpack', 'yaml']);

interface TaskRow {
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

/** A ResultBackend on one SQLite file (Celery's database backend tables). */
export class SqlResultBackend implements ResultBackend {
  readonly capabilities = { push: false, nativeChords: true } as const;
  readonly displayUrl: string;
  private db?: Database.Database;
  private stmts?: ReturnType<SqlResultBackend['prepare']>;
  private readonly file: string;
  private readonly contentType: string;
  private closed = false;

  constructor(private readonly options: BackendOptions) {
    this.displayUrl = redactUrl(options.url);
    this.file = sqliteFileOf(options.url);
    this.contentType = getSerializer(options.serializer)?.contentType ?? 'application/json';
  }

  private get s() {
    if (this.closed) throw new OperationalError(`The result backend ${this.displayUrl} is closed.`);
    if (!this.db) {
      const busy = Number(this.options.options.busy_timeout ?? 5_000);
      this.db = openSqliteDatabase(this.file, this.options.url, { tables: resultSchema(D), columns: RESULT_ADDED_COLUMNS, indexes: [] }, Number.isFinite(busy) ? busy : 5_000);
      this.stmts = this.prepare(this.db);
      this.expire();
    }
    return this.stmts!;
  }

  private prepare(db: Database.Database) {
    const s = {
      upsertTask: db.prepare(RESULT_SQL.upsertTask(D)),
      getTask: db.prepare(RESULT_SQL.getTask),
      deleteTask: db.prepare(RESULT_SQL.deleteTask),
      upsertGroup: db.prepare(RESULT_SQL.upsertGroup(D)),
      getGroup: db.prepare(RESULT_SQL.getGroup),
      deleteGroup: db.prepare(RESULT_SQL.deleteGroup),
      setChordSize: db.prepare(RESULT_SQL.setChordSize),
      chordSize: db.prepare(RESULT_SQL.chordSize),
      addChordPart: db.prepare(RESULT_SQL.addChordPart),
      countChordParts: db.prepare(RESULT_SQL.countChordParts),
      chordParts: db.prepare(RESULT_SQL.chordParts),
      deleteChordParts: db.prepare(RESULT_SQL.deleteChordParts),
      deleteChord: db.prepare(RESULT_SQL.deleteChord),
      expireTasks: db.prepare(RESULT_SQL.expireTasks),
      expireGroups: db.prepare(RESULT_SQL.expireGroups),
      expireChords: db.prepare(RESULT_SQL.expireChords),
    };
    const chordTx = db.transaction((groupId: string, part: ChordPart, result: Buffer) => {
      s.addChordPart.run(groupId, part.index, part.taskId, part.state, result);
      const size = s.chordSize.get(groupId) as { size: number } | undefined;
      if (!size) return null;
      const count = Number((s.countChordParts.get(groupId) as { n: number }).n);
      if (count < size.size) return null;
      const rows = s.chordParts.all(groupId) as Array<{ idx: number; task_id: string; state: string; result: Buffer | null }>;
      s.deleteChordParts.run(groupId);
      s.deleteChord.run(groupId);
      return rows;
    });
    return { ...s, chordTx };
  }

  /** celery.backend_cleanup's rule, applied once per open: rows older than result_expires are deleted. */
  private expire(): void {
    const ms = this.options.expiresMs;
    if (!ms || ms <= 0 || !this.stmts) return;
    const cutoff = new Date(Date.now() - ms);
    this.stmts.expireTasks.run(sqlDateTime(cutoff, true));
    this.stmts.expireGroups.run(sqlDateTime(cutoff, true));
    this.stmts.expireChords.run(cutoff.getTime());
  }

  async store(taskId: string, meta: ResultMeta): Promise<void> {
    const extra: Extra = {};
    if (meta.children?.length) extra.children = meta.children;
    if (meta.parent_id) extra.parent_id = meta.parent_id;
    if (meta.group_id) extra.group_id = meta.group_id;
    // Python fills date_done for every state; remember that ours was null (STARTED, RETRY) so get() returns it so.
    if (meta.date_done === null || meta.date_done === undefined) extra.date_done = null;
    const dateDone = meta.date_done ? toSqlDate(meta.date_done) : sqlDateTime(new Date(), true);
    const extended = meta.name !== undefined || meta.args !== undefined || meta.kwargs !== undefined || meta.worker !== undefined;
    this.s.upsertTask.run(
      taskId,
      meta.status,
      pickleDumps(meta.result),
      dateDone,
      meta.traceback ?? null,
      extended ? meta.name ?? null : null,
      extended && meta.args !== undefined ? Buffer.from(encode(meta.args, this.options.serializer).body) : null,
      extended && meta.kwargs !== undefined ? Buffer.from(encode(meta.kwargs, this.options.serializer).body) : null,
      extended ? meta.worker ?? null : null,
      extended && typeof meta.retries === 'number' ? meta.retries : null,
      extended ? meta.queue ?? null : null,
      Object.keys(extra).length ? JSON.stringify(extra) : null,
    );
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    const row = this.s.getTask.get(taskId) as TaskRow | undefined;
    if (!row) return null;
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
        throw new UnsupportedEncoding(`The stored result of task ${taskId} in ${this.displayUrl} cannot be read: ${(cause as Error).message}`, { cause, context: { taskId, url: this.displayUrl } });
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
    meta.task_id = row.task_id;
    if (row.name !== null || row.args !== null || row.kwargs !== null || row.worker !== null || row.queue !== null) {
      meta.name = row.name;
      meta.args = this.decodeColumn(row.args, taskId);
      meta.kwargs = this.decodeColumn(row.kwargs, taskId);
      meta.worker = row.worker;
      meta.retries = row.retries;
      meta.queue = row.queue;
    }
    return meta;
  }

  /** args/kwargs as result_serializer text (Python writes b'[2, 3]'); unreadable text is returned as text. */
  private decodeColumn(value: Buffer | string | null, taskId: string): unknown {
    if (value === null) return null;
    const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    try {
      return decode({ body, contentType: this.contentType }, anySerializer, `result of task ${taskId}`);
    } catch {
      return body.toString('utf8');
    }
  }

  async waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta> {
    const started = Date.now();
    const deadline = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
    const interval = Math.max(1, options.intervalMs);
    for (;;) {
      const stored = await this.get(taskId);
      if (stored && READY_STATES.has(stored.status)) return stored;
      if (options.signal?.aborted) throw options.signal.reason ?? this.timeout(taskId, options.timeoutMs, stored);
      const left = deadline - Date.now();
      if (left <= 0) throw this.timeout(taskId, options.timeoutMs, stored);
      await sleep(Math.min(interval, left), options.signal);
    }
  }

  private timeout(taskId: string, timeoutMs: number | undefined, stored: ResultMeta | null): TimeoutError {
    const state = stored ? `its state is still ${stored.status}` : 'nothing is stored for it yet (PENDING)';
    return new TimeoutError(`The result of task ${taskId} was not ready within ${timeoutMs} ms (backend ${this.displayUrl}): ${state}. Is a worker consuming its queue, with the same result_backend?`, { context: { taskId, url: this.displayUrl } });
  }

  async forget(taskId: string): Promise<void> {
    this.s.deleteTask.run(taskId);
  }

  async saveGroup(groupId: string, taskIds: readonly string[]): Promise<void> {
    const doc = { result: [[groupId, null], taskIds.map((id) => [[id, null], null])] };
    this.s.upsertGroup.run(groupId, pickleDumps(doc), sqlDateTime(new Date(), true));
  }

  async getGroup(groupId: string): Promise<readonly string[] | null> {
    const row = this.s.getGroup.get(groupId) as { result: Buffer | null } | undefined;
    if (!row) return null;
    let doc: unknown;
    try {
      doc = row.result ? pickleLoads(row.result) : null;
    } catch (cause) {
      throw new UnsupportedEncoding(`Group ${groupId} in ${this.displayUrl} was saved in a form celeriac does not read (Python Celery stores a pickled GroupResult object there): ${(cause as Error).message}`, { cause, context: { url: this.displayUrl } });
    }
    const members = (doc as { result?: [unknown, unknown[]] } | null)?.result?.[1];
    if (!Array.isArray(members)) return [];
    return members.map((m) => String(Array.isArray(m) && Array.isArray(m[0]) ? m[0][0] : m));
  }

  async forgetGroup(groupId: string): Promise<void> {
    this.s.deleteGroup.run(groupId);
  }

  async setChordSize(groupId: string, size: number): Promise<void> {
    this.s.setChordSize.run(groupId, size, Date.now());
  }

  async addChordPart(groupId: string, part: ChordPart): Promise<readonly ChordPart[] | null> {
    const rows = this.s.chordTx.immediate(groupId, part, pickleDumps(part.result));
    if (!rows) return null;
    return rows.map((r) => ({ index: r.idx, taskId: r.task_id, state: r.state, result: r.result ? pickleLoads(r.result) : null }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db?.close();
    this.db = undefined;
  }
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

export const createBackend: BackendFactory = (options) => new SqlResultBackend(options);
