// postgresql:// (db+postgresql://) results on Celery's database-backend tables (SQL-WIRE.md §2) in PostgreSQL:
// celery_taskmeta rows with a pickled `result` (bytea, plain data only, protocol/pickle.ts), ids drawn from
// task_id_sequence / taskset_id_sequence with nextval as Python does, celery_tasksetmeta for saved groups, and the
// chord counter of our own (celeriac_chord, celeriac_chord_part). Python Celery's `db+postgresql://` backend on the
// same database reads celeriac's task results and vice versa. Same extras as the SQLite backend (backends/sql.ts):
//   celery_taskmeta.celeriac_meta  JSON {children, parent_id, group_id[, date_done: null]} Python has no column for
//   celeriac_chord / _part         addChordPart locks the celeriac_chord row (SELECT … FOR UPDATE) in a transaction,
//                                  so exactly one caller sees the full count and completes the chord.
// Storing is one INSERT … ON CONFLICT DO UPDATE … WHERE status <> 'SUCCESS': a stored SUCCESS is never overwritten.
// Waiting: ready states are announced with NOTIFY celeriac_result (payload = task id) to a LISTEN connection opened
// on the first waitFor; rows Python writes (no NOTIFY) are found by polling at intervalMs.
// Saved groups are written as a pickled plain dict; a group Python saved (a pickled GroupResult object) is refused
// with UnsupportedEncoding rather than unpickled.

import pg from 'pg';
import { OperationalError, UnsupportedEncoding } from '../errors.js';
import { redactUrl } from '../config/urls.js';
import { pickleDumps } from '../protocol/pickle-writer.js';
import type { ResultMeta } from '../protocol/result-meta.js';
import { getSerializer } from '../protocol/serializers.js';
import { READY_STATES } from '../states.js';
import { setLongTimeout } from '../utils/long-timer.js';
import { SCHEMA_LOCKS, ensurePgSchema, openPgPool, pgConfig, wrapPgError } from '../drivers/postgres.js';
import { DIALECTS, numbered, sqlDateTime } from '../drivers/sql-dialect.js';
import { PgCoordination } from '../drivers/sql-coordination.js';
import { RESULT_ADDED_COLUMNS, RESULT_SQL, resultSchema } from './sql-schema.js';
import { chordParts, groupMembers, groupResultValue, resultTimeout, rowToMeta, taskRowValues, type TaskRow } from './sql-rows.js';
import type { BackendFactory, BackendOptions, ChordPart, MemberTuple, ResultBackend, WaitOptions } from './backend.js';

const D = DIALECTS.postgresql;
const RESULT_CHANNEL = 'celeriac_result';

const SQL = {
  upsertTask: numbered(RESULT_SQL.upsertTask(D)),
  // date_done as text: node-postgres would turn a naive timestamp into a local-time Date.
  getTask: 'SELECT task_id, status, result, date_done::text AS date_done, traceback, name, args, kwargs, worker, retries, queue, celeriac_meta FROM celery_taskmeta WHERE task_id = $1',
  deleteTask: numbered(RESULT_SQL.deleteTask),
  upsertGroup: numbered(RESULT_SQL.upsertGroup(D)),
  getGroup: numbered(RESULT_SQL.getGroup),
  deleteGroup: numbered(RESULT_SQL.deleteGroup),
  setChordSize: numbered(RESULT_SQL.setChordSize),
  lockChord: 'SELECT size FROM celeriac_chord WHERE group_id = $1 FOR UPDATE',
  addChordPart: numbered(RESULT_SQL.addChordPart),
  countChordParts: numbered(RESULT_SQL.countChordParts),
  chordParts: numbered(RESULT_SQL.chordParts),
  deleteChordParts: numbered(RESULT_SQL.deleteChordParts),
  deleteChord: numbered(RESULT_SQL.deleteChord),
  expireTasks: numbered(RESULT_SQL.expireTasks),
  expireGroups: numbered(RESULT_SQL.expireGroups),
  expireChords: numbered(RESULT_SQL.expireChords),
  notify: 'SELECT pg_notify($1, $2)',
} as const;

/** A ResultBackend on a PostgreSQL database (Celery's database backend tables). */
export class PgResultBackend implements ResultBackend {
  readonly capabilities = { push: false, nativeChords: true } as const;
  readonly displayUrl: string;
  private readonly pool: pg.Pool;
  readonly coordination: PgCoordination;
  private readonly contentType: string;
  private schema?: Promise<void>;
  private closed = false;
  private listenerClient?: pg.Client;
  private listenerReady?: Promise<void>;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly options: BackendOptions) {
    this.displayUrl = redactUrl(options.url);
    this.pool = openPgPool(options.url, options.options);
    this.pool.on('error', () => undefined);
    this.coordination = new PgCoordination(this.pool, options.url, this.displayUrl);
    this.contentType = getSerializer(options.serializer)?.contentType ?? 'application/json';
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], client?: pg.PoolClient): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new OperationalError(`The result backend ${this.displayUrl} is closed.`, { context: { url: this.displayUrl } });
    try {
      await this.ensureSchema();
      return await (client ?? this.pool).query<R>(sql, params);
    } catch (error) {
      throw wrapPgError(error, this.options.url, 'result backend');
    }
  }

  private ensureSchema(): Promise<void> {
    if (!this.schema) {
      this.schema = ensurePgSchema(this.pool, SCHEMA_LOCKS.results, { tables: resultSchema(D), columns: RESULT_ADDED_COLUMNS, indexes: [] })
        .then(() => this.expire());
      this.schema.catch(() => (this.schema = undefined));
    }
    return this.schema;
  }

  /** Delete results older than result_expires now (what celery.backend_cleanup runs; also done once per open). */
  async cleanup(): Promise<void> {
    await this.ensureSchema();
    await this.expire();
  }

  /** celery.backend_cleanup's rule, applied once per open: rows older than result_expires are deleted. */
  private async expire(): Promise<void> {
    const ms = this.options.expiresMs;
    if (!ms || ms <= 0) return;
    const cutoff = new Date(Date.now() - ms);
    await this.pool.query(SQL.expireTasks, [sqlDateTime(cutoff, true)]);
    await this.pool.query(SQL.expireGroups, [sqlDateTime(cutoff, true)]);
    await this.pool.query(SQL.expireChords, [cutoff.getTime()]);
  }

  async store(taskId: string, meta: ResultMeta): Promise<void> {
    await this.query(SQL.upsertTask, taskRowValues(taskId, meta, this.options.serializer));
    if (READY_STATES.has(meta.status)) await this.query(SQL.notify, [RESULT_CHANNEL, taskId]).catch(() => undefined);
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    const row = (await this.query<TaskRow>(SQL.getTask, [taskId])).rows[0];
    return row ? rowToMeta(row, this.contentType, this.displayUrl) : null;
  }

  async waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta> {
    const started = Date.now();
    const deadline = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
    const interval = Math.max(1, options.intervalMs);
    // NOTIFY wakes us early for celeriac writers; polling at `interval` finds Python's writes (no NOTIFY). The
    // wake-up is registered for the whole wait, so one that lands between a read and the sleep is not lost.
    let woken = false;
    let wake: (() => void) | undefined;
    const onNotify = () => {
      woken = true;
      wake?.();
    };
    let set = this.waiters.get(taskId);
    if (!set) this.waiters.set(taskId, (set = new Set()));
    const waiters = set;
    waiters.add(onNotify);
    void this.ensureListener().catch(() => undefined);
    try {
      for (;;) {
        woken = false;
        const stored = await this.get(taskId);
        if (stored && READY_STATES.has(stored.status)) return stored;
        if (options.signal?.aborted) throw options.signal.reason ?? resultTimeout(taskId, options.timeoutMs, stored, this.displayUrl);
        const left = deadline - Date.now();
        if (left <= 0) throw resultTimeout(taskId, options.timeoutMs, stored, this.displayUrl);
        if (woken) continue;
        await new Promise<void>((resolve) => {
          const done = () => {
            timer.cancel();
            wake = undefined;
            options.signal?.removeEventListener('abort', done);
            resolve();
          };
          const timer = setLongTimeout(done, Math.min(interval, left));
          wake = done;
          options.signal?.addEventListener('abort', done, { once: true });
        });
      }
    } finally {
      waiters.delete(onNotify);
      if (!waiters.size && this.waiters.get(taskId) === waiters) this.waiters.delete(taskId);
    }
  }

  private ensureListener(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.listenerReady) return this.listenerReady;
    const client = new pg.Client(pgConfig(this.options.url, this.options.options));
    this.listenerClient = client;
    const drop = () => {
      if (this.listenerClient !== client) return;
      this.listenerClient = undefined;
      this.listenerReady = undefined;
      void client.end().catch(() => undefined);
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (n) => {
      for (const wake of [...(this.waiters.get(n.payload ?? '') ?? [])]) wake();
    });
    this.listenerReady = (async () => {
      await client.connect();
      await client.query(`LISTEN ${RESULT_CHANNEL}`);
    })();
    this.listenerReady.catch(drop);
    return this.listenerReady;
  }

  async forget(taskId: string): Promise<void> {
    await this.query(SQL.deleteTask, [taskId]);
  }

  async saveGroup(groupId: string, members: readonly MemberTuple[]): Promise<void> {
    await this.query(SQL.upsertGroup, [groupId, groupResultValue(groupId, members), sqlDateTime(new Date(), true)]);
  }

  async getGroup(groupId: string): Promise<readonly MemberTuple[] | null> {
    const row = (await this.query<{ result: Buffer | null }>(SQL.getGroup, [groupId])).rows[0];
    return row ? groupMembers(groupId, row.result, this.displayUrl) : null;
  }

  async forgetGroup(groupId: string): Promise<void> {
    await this.query(SQL.deleteGroup, [groupId]);
  }

  async setChordSize(groupId: string, size: number): Promise<void> {
    await this.query(SQL.setChordSize, [groupId, size, Date.now()]);
  }

  async addChordPart(groupId: string, part: ChordPart): Promise<readonly ChordPart[] | null> {
    const result = pickleDumps(part.result);
    if (this.closed) throw new OperationalError(`The result backend ${this.displayUrl} is closed.`, { context: { url: this.displayUrl } });
    let client: pg.PoolClient;
    try {
      await this.ensureSchema();
      client = await this.pool.connect();
    } catch (error) {
      throw wrapPgError(error, this.options.url, 'result backend');
    }
    let rows: Array<{ idx: number; task_id: string; state: string; result: Buffer | null }> | null = null;
    try {
      await client.query('BEGIN');
      // The chord row lock serialises the parts of one chord: each count sees every part committed before it.
      const size = (await client.query<{ size: number }>(SQL.lockChord, [groupId])).rows[0];
      await client.query(SQL.addChordPart, [groupId, part.index, part.taskId, part.state, result]);
      if (size) {
        const count = Number((await client.query<{ n: string }>(SQL.countChordParts, [groupId])).rows[0]?.n ?? 0);
        if (count >= Number(size.size)) {
          rows = (await client.query<{ idx: number; task_id: string; state: string; result: Buffer | null }>(SQL.chordParts, [groupId])).rows;
          await client.query(SQL.deleteChordParts, [groupId]);
          await client.query(SQL.deleteChord, [groupId]);
        }
      }
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      throw wrapPgError(error, this.options.url, 'result backend');
    }
    if (!rows) return null;
    return chordParts(rows);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake();
    const client = this.listenerClient;
    this.listenerClient = undefined;
    this.listenerReady = undefined;
    await client?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

/** Open the PostgreSQL result backend (db+postgresql://…) on Celery's tables; connects on first use. */
export const createBackend: BackendFactory = (options) => new PgResultBackend(options);
