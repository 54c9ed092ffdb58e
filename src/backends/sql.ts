// sqlite:// (db+sqlite://) results on Celery's database-backend tables (SQL-WIRE.md §2): celery_taskmeta rows with a
// pickled `result` (plain data only, protocol/pickle.ts), celery_tasksetmeta for saved groups, and a small chord
// counter of our own. Python Celery's `db+sqlite://` backend on the same file reads celeriac's task results and
// vice versa. Waiting polls (no push). PostgreSQL (postgres.ts) shares the SQL in sql-schema.ts.
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
import { OperationalError, UnsupportedEncoding } from '../errors.js';
import { redactUrl } from '../config/urls.js';
import { pickleDumps } from '../protocol/pickle-writer.js';
import type { ResultMeta } from '../protocol/result-meta.js';
import { getSerializer } from '../protocol/serializers.js';
import { READY_STATES } from '../states.js';
import { sleepLong } from '../utils/long-timer.js';
import { DIALECTS, sqlDateTime } from '../drivers/sql-dialect.js';
import { openSqliteDatabase, sqliteFileOf } from '../drivers/sqlite.js';
import { SqliteCoordination } from '../drivers/sql-coordination.js';
import { RESULT_ADDED_COLUMNS, RESULT_SQL, resultSchema } from './sql-schema.js';
import { chordParts, groupMembers, groupResultValue, resultTimeout, rowToMeta, taskRowValues, type TaskRow } from './sql-rows.js';
import type { BackendFactory, BackendOptions, ChordPart, MemberTuple, ResultBackend, WaitOptions } from './backend.js';

const D = DIALECTS.sqlite;

/** A ResultBackend on one SQLite file (Celery's database backend tables). */
export class SqlResultBackend implements ResultBackend {
  readonly capabilities = { push: false, nativeChords: true } as const;
  readonly displayUrl: string;
  private db?: Database.Database;
  private stmts?: ReturnType<SqlResultBackend['prepare']>;
  private readonly file: string;
  readonly coordination: SqliteCoordination;
  private readonly contentType: string;
  private closed = false;

  constructor(private readonly options: BackendOptions) {
    this.displayUrl = redactUrl(options.url);
    this.file = sqliteFileOf(options.url);
    this.coordination = new SqliteCoordination(() => this.database(), this.displayUrl);
    this.contentType = getSerializer(options.serializer)?.contentType ?? 'application/json';
  }

  /** The connection, opened (with its schema) on first use. */
  private database(): Database.Database {
    if (!this.db) void this.s;
    return this.db!;
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

  /** Delete results older than result_expires now (what celery.backend_cleanup runs; also done once per open). */
  async cleanup(): Promise<void> {
    if (this.stmts) this.expire();
    else void this.s;
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
    this.s.upsertTask.run(...taskRowValues(taskId, meta, this.options.serializer));
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    const row = this.s.getTask.get(taskId) as TaskRow | undefined;
    return row ? rowToMeta(row, this.contentType, this.displayUrl) : null;
  }

  async waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta> {
    const started = Date.now();
    const deadline = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
    const interval = Math.max(1, options.intervalMs);
    for (;;) {
      const stored = await this.get(taskId);
      if (stored && READY_STATES.has(stored.status)) return stored;
      if (options.signal?.aborted) throw options.signal.reason ?? resultTimeout(taskId, options.timeoutMs, stored, this.displayUrl);
      const left = deadline - Date.now();
      if (left <= 0) throw resultTimeout(taskId, options.timeoutMs, stored, this.displayUrl);
      await sleepLong(Math.min(interval, left), { signal: options.signal });
    }
  }

  async forget(taskId: string): Promise<void> {
    this.s.deleteTask.run(taskId);
  }

  async saveGroup(groupId: string, members: readonly MemberTuple[]): Promise<void> {
    this.s.upsertGroup.run(groupId, groupResultValue(groupId, members), sqlDateTime(new Date(), true));
  }

  async getGroup(groupId: string): Promise<readonly MemberTuple[] | null> {
    const row = this.s.getGroup.get(groupId) as { result: Buffer | null } | undefined;
    return row ? groupMembers(groupId, row.result, this.displayUrl) : null;
  }

  async forgetGroup(groupId: string): Promise<void> {
    this.s.deleteGroup.run(groupId);
  }

  async setChordSize(groupId: string, size: number): Promise<void> {
    this.s.setChordSize.run(groupId, size, Date.now());
  }

  async addChordPart(groupId: string, part: ChordPart): Promise<readonly ChordPart[] | null> {
    const rows = this.s.chordTx.immediate(groupId, part, pickleDumps(part.result));
    return rows ? chordParts(rows) : null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db?.close();
    this.db = undefined;
  }
}

/** Open the SQLite result backend (db+sqlite://…) on Celery's tables; opens the file on first use. */
export const createBackend: BackendFactory = (options) => new SqlResultBackend(options);
