// sqlite://file.db: the embedded broker, a QueueStore on kombu's SQL transport tables in one SQLite file shared by
// any number of worker and client processes (WAL, busy_timeout, each take one BEGIN IMMEDIATE transaction).
// Must not block the event loop for long: every statement is short and prepared once.
//
// Features
//   direct / topic routing: yes (bindings in celeriac_binding)     fanout / broadcast: yes, polled (celeriac_broadcast)
//   priority: yes, higher number first, then FIFO                  delayed delivery: yes (due_at; Delivery.defer)
//   redelivery: yes: rows of a worker whose lease expired (lease_timeout, on this machine's clock) are restored by
//         any worker; other unacked rows older than visibility_timeout by any process
//   URL: sqlite://celeriac.db (relative, celeriac's form), sqlite:///relative.db, sqlite:////abs/path.db (SQLAlchemy's),
//        sqlite:// = celeriac.db in the working directory, sqlite://:memory: (one process, one connection).
//
// Python interop (SQL-WIRE.md §1): a kombu `sqla+sqlite://` producer or worker on the same file works: rows, payloads
// and kombu's columns are the same. What a Python worker does not understand: priorities (it takes in timestamp, id
// order), acks and redelivery (it leaves taken rows invisible; celeriac never restores rows it did not take itself),
// and broadcast (no remote control or events from Python). Deferred rows stay invisible to it until due.

import type Database from 'better-sqlite3';
import { resolve as resolvePath } from 'node:path';
import { OperationalError } from '../../errors.js';
import { markRedeliveredIfEnvelope } from '../../protocol/envelope.js';
import { redactUrl } from '../../config/urls.js';
import type { TransportFactory } from '../transport.js';
import { createVirtualTransport } from '../virtual/transport.js';
import type { Binding, QueueStore, QueueStoreLeases, TakeOptions, TakenMessage } from '../virtual/queue-store.js';
import { DIALECTS, sqlDateTime } from '../../drivers/sql-dialect.js';
import { isSqliteBusy, openSqliteDatabase, sqliteFileOf } from '../../drivers/sqlite.js';
import { SqliteCoordination } from '../../drivers/sql-coordination.js';
import { BROKER_ADDED_COLUMNS, BROKER_INDEXES, BROKER_SQL, brokerSchema, tagId } from './schema.js';

type Db = Database.Database;
type Statement = Database.Statement;

const D = DIALECTS.sqlite;
/** SQLite has no boolean type; Python's SQLAlchemy writes 1/0. */
const TRUE = 1;
const FALSE = 0;
/** Polling for takes when every queue is empty: starts short, grows while idle, resets when something is found. */
const MIN_POLL_MS = 5;
const MAX_POLL_MS = 100;
/** Broadcast listeners poll their table with the same idea, a little lazier. */
const MIN_BROADCAST_POLL_MS = 10;
const MAX_BROADCAST_POLL_MS = 200;
/** Broadcast rows are only for listeners that are running now; older rows are deleted. */
const BROADCAST_KEEP_MS = 60_000;

/** In-process wake-ups: a put in this process ends the poll sleep of takers on the same file at once. */
const localWaiters = new Map<string, Set<() => void>>();

function wakeLocal(key: string): void {
  for (const wake of [...(localWaiters.get(key) ?? [])]) wake();
}

interface Row { id: number; payload: string }
interface LeasedRow extends Row { lease_id: string }

/** A QueueStore on one SQLite file; see the file header for the tables. */
export class SqliteQueueStore implements QueueStore {
  private db?: Db;
  private stmts?: ReturnType<SqliteQueueStore['prepare']>;
  private readonly anyVisible = new Map<number, Statement>();
  private readonly queueIds = new Map<string, number>();
  private readonly key: string;
  private pollMs = MIN_POLL_MS;
  private closed = false;
  private readonly listeners = new Map<string, Set<(raw: string) => void>>();
  private broadcastTimer?: NodeJS.Timeout;
  private broadcastPollMs = MIN_BROADCAST_POLL_MS;
  private lastBroadcastId = 0;
  private lastPrune = 0;

  readonly coordination: SqliteCoordination;

  constructor(readonly file: string, private readonly url: string, private readonly busyTimeoutMs = 5_000) {
    this.coordination = new SqliteCoordination(() => this.conn(), redactUrl(url));
    this.key = file === ':memory:' ? `:memory:${Math.random()}` : resolvePath(file);
  }

  /** The connection, opened (and the schema ensured) on first use so bad paths surface at connect(). */
  private conn(): Db {
    if (this.closed) throw new OperationalError(`The SQLite broker ${this.file} is closed.`);
    if (!this.db) {
      this.db = openSqliteDatabase(this.file, this.url, { tables: brokerSchema(D), columns: BROKER_ADDED_COLUMNS(D), indexes: BROKER_INDEXES }, this.busyTimeoutMs);
      this.stmts = this.prepare(this.db);
    }
    return this.db;
  }

  private prepare(db: Db) {
    const s = {
      queueId: db.prepare(BROKER_SQL.queueId),
      insertQueue: db.prepare(BROKER_SQL.insertQueue(D)),
      insertMessage: db.prepare(BROKER_SQL.insertMessage(D)),
      selectWaiting: db.prepare(BROKER_SQL.selectWaiting),
      markTaken: db.prepare(BROKER_SQL.markTaken),
      ack: db.prepare(BROKER_SQL.ack),
      ackHeld: db.prepare(BROKER_SQL.ackHeld),
      selectTaken: db.prepare(BROKER_SQL.selectTaken),
      makeVisible: db.prepare(BROKER_SQL.makeVisible),
      selectExpired: db.prepare(BROKER_SQL.selectExpired),
      defer: db.prepare(BROKER_SQL.defer),
      releaseDue: db.prepare(BROKER_SQL.releaseDue),
      size: db.prepare(BROKER_SQL.size),
      purge: db.prepare(BROKER_SQL.purge),
      addBinding: db.prepare(BROKER_SQL.addBinding),
      removeBinding: db.prepare(BROKER_SQL.removeBinding),
      listBindings: db.prepare(BROKER_SQL.listBindings),
      publishBroadcast: db.prepare(BROKER_SQL.publishBroadcast),
      lastBroadcast: db.prepare(BROKER_SQL.lastBroadcast),
      readBroadcast: db.prepare(BROKER_SQL.readBroadcast),
      pruneBroadcast: db.prepare(BROKER_SQL.pruneBroadcast),
      leaseOpen: db.prepare(BROKER_SQL.leaseOpen),
      leaseRenew: db.prepare(BROKER_SQL.leaseRenew),
      leaseDelete: db.prepare(BROKER_SQL.leaseDelete),
      leaseDeleteExpired: db.prepare(BROKER_SQL.leaseDeleteExpired),
      selectOrphaned: db.prepare(BROKER_SQL.selectOrphaned),
      selectLeased: db.prepare(BROKER_SQL.selectLeased),
      leaseExists: db.prepare(BROKER_SQL.leaseExists),
    };
    const restoreRows = (rows: Row[]): number => {
      for (const row of rows) s.makeVisible.run(TRUE, markRedeliveredIfEnvelope(row.payload), row.id);
      return rows.length;
    };
    // Expired leases go, then every row held under a lease that does not exist comes back.
    const sweepTx = db.transaction((now: number): number => {
      s.leaseDeleteExpired.run(now);
      let n = 0;
      for (;;) {
        const rows = s.selectOrphaned.all() as LeasedRow[];
        n += restoreRows(rows);
        if (rows.length < 1000) return n;
      }
    });
    const releaseTx = db.transaction((id: string): number => {
      const n = restoreRows(s.selectLeased.all(id) as LeasedRow[]);
      s.leaseDelete.run(id);
      return n;
    });
    const takeTx = db.transaction((ids: Array<[string, number]>, max: number, now: Date, wanted: string | null): TakenMessage[] => {
      const taken: TakenMessage[] = [];
      const stamp = sqlDateTime(now, false);
      // Under a lease that is gone (swept), rows would be orphaned at once: hold them under the visibility timeout.
      const holder = wanted !== null && s.leaseExists.get(wanted) ? wanted : null;
      for (const [queue, id] of ids) {
        const rows = s.selectWaiting.all(id, TRUE, max - taken.length) as Row[];
        for (const row of rows) {
          s.markTaken.run(FALSE, stamp, now.getTime(), holder, row.id);
          taken.push({ queue, raw: row.payload, tag: String(row.id), ...(holder === null ? {} : { holder }) });
        }
        if (taken.length >= max) break;
      }
      return taken;
    });
    const requeueTx = db.transaction((id: number, holder: string | null): boolean => {
      const row = s.selectTaken.get(id, holder, holder) as Row | undefined;
      if (!row) return false;
      s.makeVisible.run(TRUE, markRedeliveredIfEnvelope(row.payload), row.id);
      return true;
    });
    const restoreTx = db.transaction((cutoff: number): number => restoreRows(s.selectExpired.all(cutoff) as Row[]));
    return { ...s, takeTx, requeueTx, restoreTx, sweepTx, releaseTx };
  }

  private get s() {
    this.conn();
    return this.stmts!;
  }

  /** The queue's id, creating its kombu_queue row when `create`; undefined when it does not exist. */
  private queueId(name: string, create: boolean): number | undefined {
    const cached = this.queueIds.get(name);
    if (cached !== undefined) return cached;
    const s = this.s;
    let row = s.queueId.get(name) as { id: number } | undefined;
    if (!row && create) {
      s.insertQueue.run(name);
      row = s.queueId.get(name) as { id: number } | undefined;
    }
    if (row) this.queueIds.set(name, row.id);
    return row?.id;
  }

  private takeNow(queues: readonly string[], max: number, holder?: string): TakenMessage[] {
    const ids: Array<[string, number]> = [];
    for (const q of queues) {
      const id = this.queueId(q, false);
      if (id !== undefined) ids.push([q, id]);
    }
    if (!ids.length) return [];
    // A read without the write lock first: idle consumers must not queue up on BEGIN IMMEDIATE.
    let probe = this.anyVisible.get(ids.length);
    if (!probe) this.anyVisible.set(ids.length, (probe = this.conn().prepare(BROKER_SQL.anyVisible(ids.length))));
    if (!probe.get(...ids.map(([, id]) => id), TRUE)) return [];
    return this.s.takeTx.immediate(ids, Math.max(1, max), new Date(), holder ?? null);
  }

  async put(queue: string, raw: string, priority: number): Promise<void> {
    const id = this.queueId(queue, true)!;
    this.s.insertMessage.run(TRUE, raw, id, Number.isFinite(priority) ? Math.trunc(priority) : 0);
    wakeLocal(this.key);
  }

  async take(queues: readonly string[], options: TakeOptions): Promise<TakenMessage[]> {
    const deadline = Date.now() + Math.max(0, options.timeoutMs);
    for (;;) {
      if (this.closed || options.signal.aborted) return [];
      const taken = this.takeNow(queues, options.max, options.holder);
      if (taken.length) {
        this.pollMs = MIN_POLL_MS;
        return taken;
      }
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.sleep(Math.min(this.pollMs, left), options.signal);
      this.pollMs = Math.min(MAX_POLL_MS, this.pollMs * 2);
    }
  }

  /** Sleep until the poll interval passes, a put in this process wakes us, or the signal aborts. */
  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = localWaiters.get(this.key);
      if (!set) localWaiters.set(this.key, (set = new Set()));
      const waiters = set;
      const done = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (!waiters.size) localWaiters.delete(this.key);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const wake = () => {
        this.pollMs = MIN_POLL_MS;
        done();
      };
      const timer = setTimeout(done, ms);
      waiters.add(wake);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  async ack(tag: string, holder?: string): Promise<boolean | void> {
    const id = tagId(tag);
    if (id === undefined) return;
    if (holder === undefined) this.s.ack.run(id);
    else return this.s.ackHeld.run(id, holder, holder).changes === 1;
  }

  async requeue(tag: string, holder?: string): Promise<boolean> {
    const id = tagId(tag);
    if (id === undefined || !this.s.requeueTx.immediate(id, holder ?? null)) return false;
    wakeLocal(this.key);
    return true;
  }

  /** Worker leases on this file, judged on this machine's clock (every process using the file runs on it). */
  readonly leases: QueueStoreLeases = {
    open: async (id, ttlMs) => void this.s.leaseOpen.run(id, Date.now() + Math.round(ttlMs)),
    renew: async (id, ttlMs) => this.s.leaseRenew.run(Date.now() + Math.round(ttlMs), id).changes === 1,
    sweep: async () => {
      const n = this.s.sweepTx.immediate(Date.now());
      if (n) wakeLocal(this.key);
      return n;
    },
    release: async (id) => {
      const n = this.s.releaseTx.immediate(id);
      if (n) wakeLocal(this.key);
      return n;
    },
    held: async (id) => (this.s.selectLeased.all(id) as LeasedRow[]).map((r) => String(r.id)),
  };

  async restoreExpired(visibilityTimeoutMs: number): Promise<number> {
    const n = this.s.restoreTx.immediate(Date.now() - visibilityTimeoutMs);
    if (n) wakeLocal(this.key);
    return n;
  }

  async size(queue: string): Promise<number> {
    const id = this.queueId(queue, false);
    if (id === undefined) return 0;
    return Number((this.s.size.get(id, TRUE) as { n: number }).n);
  }

  async purge(queue: string): Promise<number> {
    const id = this.queueId(queue, false);
    if (id === undefined) return 0;
    return this.s.purge.run(id, TRUE).changes;
  }

  readonly bindings = {
    add: async (b: Binding): Promise<void> => {
      this.s.addBinding.run(b.exchange, b.routingKey, b.pattern, b.queue);
    },
    remove: async (b: Binding): Promise<void> => {
      this.s.removeBinding.run(b.exchange, b.routingKey, b.pattern, b.queue);
    },
    list: async (exchange: string): Promise<readonly Binding[]> => {
      const rows = this.s.listBindings.all(exchange) as Array<{ exchange: string; routing_key: string; pattern: string; queue: string }>;
      return rows.map((r) => ({ exchange: r.exchange, routingKey: r.routing_key, pattern: r.pattern, queue: r.queue }));
    },
  };

  readonly deferral = {
    defer: async (tag: string, dueAt: number, holder?: string): Promise<boolean> => {
      const id = tagId(tag);
      return id !== undefined && this.s.defer.run(Math.trunc(dueAt), id, holder ?? null, holder ?? null).changes === 1;
    },
    releaseDue: async (now: number): Promise<number> => {
      const n = this.s.releaseDue.run(TRUE, Math.trunc(now)).changes;
      if (n) wakeLocal(this.key);
      return n;
    },
  };

  /**
   * Fanout over a table: publish inserts a row per message, listeners poll for rows newer than the last one seen.
   * Only listeners running at publish time receive a message (like pub/sub); rows are deleted after a minute.
   */
  readonly broadcast = {
    publish: async (channel: string, raw: string): Promise<void> => {
      // `exchange/routing_key` reaches every listener of the exchange (PSUBSCRIBE on Redis); topic filtering is
      // done by the virtual layer.
      const slash = channel.indexOf('/');
      const exchange = slash < 0 ? channel : channel.slice(0, slash);
      const now = Date.now();
      const s = this.s;
      s.publishBroadcast.run(exchange, raw, now);
      if (now - this.lastPrune > 10_000) {
        this.lastPrune = now;
        s.pruneBroadcast.run(now - BROADCAST_KEEP_MS);
      }
      if (this.listeners.size) this.scheduleBroadcastPoll(0);
    },
    listen: async (channel: string, onMessage: (raw: string) => void): Promise<() => Promise<void>> => {
      const s = this.s;
      if (!this.broadcastTimer && !this.listeners.size) this.lastBroadcastId = Number((s.lastBroadcast.get() as { id: number }).id);
      let set = this.listeners.get(channel);
      if (!set) this.listeners.set(channel, (set = new Set()));
      const listener = (raw: string) => onMessage(raw);
      set.add(listener);
      this.scheduleBroadcastPoll(this.broadcastPollMs);
      return async () => {
        set.delete(listener);
        if (!set.size) this.listeners.delete(channel);
        if (!this.listeners.size) {
          clearTimeout(this.broadcastTimer);
          this.broadcastTimer = undefined;
        }
      };
    },
  };

  private scheduleBroadcastPoll(ms: number): void {
    if (this.closed || !this.listeners.size) return;
    clearTimeout(this.broadcastTimer);
    // Not unref'd: a running listener keeps the process alive, as a Redis subscription's socket does.
    this.broadcastTimer = setTimeout(() => this.pollBroadcast(), ms);
  }

  private pollBroadcast(): void {
    this.broadcastTimer = undefined;
    if (this.closed || !this.listeners.size) return;
    let rows: Array<{ id: number; exchange: string; payload: string }> = [];
    try {
      rows = this.s.readBroadcast.all(this.lastBroadcastId) as typeof rows;
    } catch {
      // A busy or briefly unavailable file: try again on the next tick.
    }
    for (const row of rows) {
      this.lastBroadcastId = row.id;
      for (const listener of [...(this.listeners.get(row.exchange) ?? [])]) {
        try {
          listener(row.payload);
        } catch {
          // A listener's failure must not stop delivery to the others.
        }
      }
    }
    this.broadcastPollMs = rows.length ? MIN_BROADCAST_POLL_MS : Math.min(MAX_BROADCAST_POLL_MS, this.broadcastPollMs * 2);
    this.scheduleBroadcastPoll(this.broadcastPollMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.broadcastTimer);
    this.listeners.clear();
    this.db?.close();
    this.db = undefined;
  }
}

/** Open a QueueStore on the file of a sqlite:// URL (options.busy_timeout in ms; default 5000). */
export function createSqliteStore(url: string, options: Readonly<Record<string, unknown>> = {}): SqliteQueueStore {
  const busy = Number(options.busy_timeout ?? 5_000);
  return new SqliteQueueStore(sqliteFileOf(url), url, Number.isFinite(busy) ? busy : 5_000);
}

/** sqlite:// broker: the virtual transport over SqliteQueueStore. */
export const createTransport: TransportFactory = (options) =>
  createVirtualTransport(createSqliteStore(options.url, options.transportOptions), {
    displayUrl: redactUrl(options.url),
    transportOptions: options.transportOptions,
    capabilities: { priority: true },
    isRecoverable: isSqliteBusy,
  });
