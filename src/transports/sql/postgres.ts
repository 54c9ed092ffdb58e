// postgresql:// (postgres://, sqla+postgresql://): a QueueStore on kombu's SQL transport tables in PostgreSQL
// (SQL-WIRE.md §1), the same tables and extra columns as the SQLite broker (schema.ts), on a pg.Pool.
//
// Features
//   direct / topic routing: yes (celeriac_binding)          fanout / broadcast: yes, LISTEN/NOTIFY (see below)
//   priority: yes, higher number first, then FIFO           delayed delivery: yes (due_at; Delivery.defer)
//   redelivery: yes: rows of a worker whose lease expired (lease_timeout, on the server's clock) are restored by any
//         worker; other unacked rows older than visibility_timeout by any process
//   take: one statement `UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)`: consumers never block each other
//         and never take the same row.
//   waiting: one dedicated LISTEN connection per store; put() NOTIFYs channel `celeriac_put` (payload = queue name)
//         in the same statement as its INSERT, so waiting takers wake at commit. Rows written by Python (no NOTIFY)
//         are found by a fallback poll every `polling_interval` seconds (default 0.2).
//   broadcast: NOTIFY on channel `celeriac_broadcast`; payloads that do not fit NOTIFY's 8000 bytes are inserted into
//         celeriac_broadcast and only the row id is notified. Only listeners running at publish time receive it.
//   URL: postgresql://user:pass@host:port/db (also postgres://, sqla+postgresql://, postgresql+psycopg2://);
//        TLS via ?sslmode=… (node-postgres 8 treats require as verify-full: the certificate is checked) or the
//        transport option `ssl` (true or a tls.connect options object; an sslmode in the URL wins).
//        Transport options: polling_interval (s), pool_size (default 10), connect_timeout (s, default 10).
//
// Python interop: a kombu `sqla+postgresql://` producer or worker on the same database works (same rows, payloads,
// sequences; ids drawn with nextval like Python). What a Python worker does not understand: priorities (it takes in
// timestamp, id order), acks and redelivery (it leaves taken rows invisible; celeriac restores only rows it took
// itself: taken_at set), deferred rows (they stay visible = false, so Python does not take them early) and broadcast.

import pg from 'pg';
import { OperationalError } from '../../errors.js';
import { markRedeliveredIfEnvelope } from '../../protocol/envelope.js';
import { redactUrl } from '../../config/urls.js';
import { SCHEMA_LOCKS, ensurePgSchema, isPgConnectionError, openPgPool, pgConfig, wrapPgError } from '../../drivers/postgres.js';
import { PgListener } from '../../drivers/postgres-listen.js';
import { PG_NOW, PgCoordination } from '../../drivers/sql-coordination.js';
import { DIALECTS, numbered, sqlDateTime } from '../../drivers/sql-dialect.js';
import type { TransportFactory } from '../transport.js';
import { createVirtualTransport } from '../virtual/transport.js';
import type { Binding, QueueStore, QueueStoreLeases, TakeOptions, TakenMessage } from '../virtual/queue-store.js';
import { BROKER_ADDED_COLUMNS, BROKER_INDEXES, BROKER_SQL, brokerSchema, tagId } from './schema.js';

const D = DIALECTS.postgresql;
const PUT_CHANNEL = 'celeriac_put';
const BROADCAST_CHANNEL = 'celeriac_broadcast';
/** NOTIFY payloads must be shorter than 8000 bytes; leave room for the prefix. */
const MAX_NOTIFY_BYTES = 7_900;
const BROADCAST_KEEP_MS = 60_000;
const DEFAULT_POLL_MS = 200;
const LISTEN_RETRY_MS = 1_000;

// ---------------------------------------------------------------------------------------------------------------
// The store.
// ---------------------------------------------------------------------------------------------------------------

const SQL = {
  queueId: numbered(BROKER_SQL.queueId),
  insertQueue: numbered(BROKER_SQL.insertQueue(D)),
  // INSERT and NOTIFY in one statement: the notification is delivered when the row is committed.
  put: `WITH ins AS (INSERT INTO kombu_message (id, visible, timestamp, payload, version, queue_id, priority) ` +
    `VALUES (nextval('message_id_sequence'), true, NULL, $1, 1, $2, $3) RETURNING id) ` +
    `SELECT pg_notify('${PUT_CHANNEL}', $4) FROM ins`,
  // The take: lock up to $2 waiting rows nobody else holds, mark them taken, return them; one statement.
  // Under a lease that is gone (swept), rows would be orphaned at once: they are held under no lease instead.
  take: 'UPDATE kombu_message m SET visible = false, timestamp = $3, version = m.version + 1, taken_at = $4, ' +
    'lease_id = (SELECT l.id FROM celeriac_lease l WHERE l.id = $5) ' +
    'FROM (SELECT id FROM kombu_message WHERE queue_id = $1 AND visible = true ORDER BY priority DESC, id LIMIT $2 FOR UPDATE SKIP LOCKED) picked ' +
    'WHERE m.id = picked.id RETURNING m.id, m.payload, m.priority, m.lease_id',
  ack: numbered(BROKER_SQL.ack),
  // $2: the lease that must still hold the row, or NULL (no lease: unconditional, as before leases).
  ackHeld: 'DELETE FROM kombu_message WHERE id = $1 AND ($2::varchar IS NULL OR lease_id = $2)',
  selectTaken: 'SELECT id, payload FROM kombu_message WHERE id = $1 AND taken_at IS NOT NULL AND ($2::varchar IS NULL OR lease_id = $2)',
  requeue: 'UPDATE kombu_message SET visible = true, timestamp = NULL, version = version + 1, taken_at = NULL, due_at = NULL, lease_id = NULL, payload = $1 ' +
    'WHERE id = $2 AND taken_at IS NOT NULL AND ($3::varchar IS NULL OR lease_id = $3) RETURNING queue_id',
  selectExpired: 'SELECT id, payload FROM kombu_message WHERE taken_at IS NOT NULL AND taken_at <= $1 AND lease_id IS NULL ORDER BY id LIMIT 1000',
  restore: 'UPDATE kombu_message m SET visible = true, timestamp = NULL, version = m.version + 1, taken_at = NULL, due_at = NULL, payload = v.payload ' +
    'FROM unnest($1::int[], $2::text[]) AS v(id, payload) WHERE m.id = v.id AND m.taken_at IS NOT NULL AND m.taken_at <= $3 AND m.lease_id IS NULL',
  defer: 'UPDATE kombu_message SET taken_at = NULL, lease_id = NULL, due_at = $1, version = version + 1 WHERE id = $2 AND taken_at IS NOT NULL AND ($3::varchar IS NULL OR lease_id = $3)',
  // Leases, on the server's clock.
  leaseOpen: `INSERT INTO celeriac_lease (id, expires_at) VALUES ($1, ${PG_NOW} + $2)`,
  leaseRenew: `UPDATE celeriac_lease SET expires_at = ${PG_NOW} + $2 WHERE id = $1`,
  leaseDelete: 'DELETE FROM celeriac_lease WHERE id = $1',
  // Drop expired leases and find the rows held under them or under no existing lease (a take that raced a sweep);
  // the statement sees the table as before its DELETE, hence both conditions.
  sweepLeases: `WITH gone AS (DELETE FROM celeriac_lease WHERE expires_at <= ${PG_NOW} RETURNING id) ` +
    'SELECT m.id, m.payload, m.lease_id FROM kombu_message m WHERE m.lease_id IS NOT NULL AND (m.lease_id IN (SELECT id FROM gone) ' +
    'OR NOT EXISTS (SELECT 1 FROM celeriac_lease l WHERE l.id = m.lease_id)) ORDER BY m.id LIMIT 1000',
  selectLeased: 'SELECT id, payload, lease_id FROM kombu_message WHERE lease_id = $1 ORDER BY id',
  selectLeasedIds: 'SELECT id FROM kombu_message WHERE lease_id = $1',
  // Back to waiting, only while the row is still held under the lease it was read with.
  restoreLeased: 'UPDATE kombu_message m SET visible = true, timestamp = NULL, version = m.version + 1, taken_at = NULL, due_at = NULL, lease_id = NULL, payload = v.payload ' +
    'FROM unnest($1::int[], $2::text[], $3::text[]) AS v(id, payload, lease) WHERE m.id = v.id AND m.lease_id = v.lease',
  releaseDue: 'UPDATE kombu_message SET visible = true, timestamp = NULL, version = version + 1, due_at = NULL WHERE due_at IS NOT NULL AND due_at <= $1',
  size: 'SELECT COUNT(*) AS n FROM kombu_message WHERE queue_id = $1 AND visible = true',
  purge: 'DELETE FROM kombu_message WHERE queue_id = $1 AND visible = true',
  addBinding: numbered(BROKER_SQL.addBinding),
  removeBinding: numbered(BROKER_SQL.removeBinding),
  listBindings: numbered(BROKER_SQL.listBindings),
  publishBroadcastRow: 'INSERT INTO celeriac_broadcast (exchange, payload, created_at) VALUES ($1, $2, $3) RETURNING id',
  readBroadcastRow: 'SELECT exchange, payload FROM celeriac_broadcast WHERE id = $1',
  pruneBroadcast: numbered(BROKER_SQL.pruneBroadcast),
  notify: 'SELECT pg_notify($1, $2)',
} as const;

interface Waiter { queues: ReadonlySet<string>; wake: () => void }

/** A QueueStore on a PostgreSQL database; see the file header. */
export class PgQueueStore implements QueueStore {
  private readonly pool: pg.Pool;
  private readonly displayUrl: string;
  readonly coordination: PgCoordination;
  private schema?: Promise<void>;
  private readonly queueIds = new Map<string, number>();
  private closed = false;
  private readonly pollMs: number;
  /** Bumped on every put notification, so a take that raced a NOTIFY retries at once. */
  private wakeSeq = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly listener: PgListener;
  private readonly listeners = new Map<string, Set<(raw: string) => void>>();
  private lastPrune = 0;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly url: string, private readonly options: Readonly<Record<string, unknown>> = {}) {
    this.displayUrl = redactUrl(url);
    this.pool = openPgPool(url, options);
    this.coordination = new PgCoordination(this.pool, url, this.displayUrl);
    // An idle client dropped by the server must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
    const poll = Number(options.polling_interval ?? DEFAULT_POLL_MS / 1000);
    this.pollMs = Number.isFinite(poll) && poll > 0 ? Math.max(10, Math.round(poll * 1000)) : DEFAULT_POLL_MS;
    // Put wake-ups and broadcasts; after a loss it comes back only for broadcast listeners (takers fall back to
    // polling meanwhile, and reopen it with their next take).
    this.listener = new PgListener({
      config: pgConfig(url, options),
      channels: [PUT_CHANNEL, BROADCAST_CHANNEL],
      onNotification: (channel, payload) => this.onNotification(channel, payload),
      beforeListen: () => this.query('SELECT 1'), // the schema (and so the broadcast table) exists before we listen
      keepAlive: () => this.listeners.size > 0,
      retryMs: LISTEN_RETRY_MS,
      closedError: () => new OperationalError(`The PostgreSQL broker ${this.displayUrl} is closed.`, { context: { url: this.displayUrl } }),
    });
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.closed) throw new OperationalError(`The PostgreSQL broker ${this.displayUrl} is closed.`, { context: { url: this.displayUrl } });
    if (!this.schema) {
      this.schema = ensurePgSchema(this.pool, SCHEMA_LOCKS.broker, { tables: brokerSchema(D), columns: BROKER_ADDED_COLUMNS(D), indexes: BROKER_INDEXES });
      // A failed creation is retried by the next call (the server may come back).
      this.schema.catch(() => (this.schema = undefined));
    }
    try {
      await this.schema;
      return await this.pool.query<R>(sql, params);
    } catch (error) {
      throw wrapPgError(error, this.url, 'broker');
    }
  }

  /** The queue's id, creating its kombu_queue row when `create`; undefined when it does not exist. */
  private async queueId(name: string, create: boolean): Promise<number | undefined> {
    const cached = this.queueIds.get(name);
    if (cached !== undefined) return cached;
    let row = (await this.query<{ id: number }>(SQL.queueId, [name])).rows[0];
    if (!row && create) {
      await this.query(SQL.insertQueue, [name]);
      row = (await this.query<{ id: number }>(SQL.queueId, [name])).rows[0];
    }
    if (row) this.queueIds.set(name, Number(row.id));
    return row ? Number(row.id) : undefined;
  }

  async put(queue: string, raw: string, priority: number): Promise<void> {
    const id = (await this.queueId(queue, true))!;
    await this.query(SQL.put, [raw, id, Number.isFinite(priority) ? Math.trunc(priority) : 0, queue]);
    // A listener that is down misses the NOTIFY; wake takers in this process directly too.
    this.wakeLocal(queue);
  }

  private async takeNow(queues: readonly string[], max: number, holder?: string): Promise<TakenMessage[]> {
    const taken: TakenMessage[] = [];
    const now = new Date();
    for (const queue of queues) {
      const id = await this.queueId(queue, false);
      if (id === undefined) continue;
      const { rows } = await this.query<{ id: number; payload: string; priority: number; lease_id: string | null }>(SQL.take, [id, max - taken.length, sqlDateTime(now, false), now.getTime(), holder ?? null]);
      // RETURNING has no order: restore the take order.
      rows.sort((a, b) => b.priority - a.priority || Number(a.id) - Number(b.id));
      for (const row of rows) taken.push({ queue, raw: row.payload, tag: String(row.id), ...(row.lease_id === null ? {} : { holder: row.lease_id }) });
      if (taken.length >= max) break;
    }
    return taken;
  }

  async take(queues: readonly string[], options: TakeOptions): Promise<TakenMessage[]> {
    const deadline = Date.now() + Math.max(0, options.timeoutMs);
    const max = Math.max(1, options.max);
    for (;;) {
      if (this.closed || options.signal.aborted) return [];
      const seq = this.wakeSeq;
      // Start listening before the take, so a NOTIFY that lands right after it is not lost.
      if (options.timeoutMs > 0) void this.listener.ready().catch(() => undefined);
      if (this.inflight.size) await Promise.allSettled([...this.inflight]);
      const taken = await this.takeNow(queues, max, options.holder);
      if (taken.length) return taken;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      if (seq !== this.wakeSeq) continue;
      await this.wait(queues, Math.min(this.pollMs, left), options.signal);
    }
  }

  /** Sleep until the poll interval passes, a put for one of `queues` is notified, or the signal aborts. */
  private wait(queues: readonly string[], ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { queues: new Set(queues), wake: () => done() };
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(waiter);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Wake takers waiting on `queue` (all of them when undefined). */
  private wakeLocal(queue?: string): void {
    this.wakeSeq++;
    for (const w of [...this.waiters]) if (queue === undefined || w.queues.has(queue)) w.wake();
  }

  private onNotification(channel: string, payload: string): void {
    if (channel === PUT_CHANNEL) {
      this.wakeLocal(payload || undefined);
      return;
    }
    if (channel !== BROADCAST_CHANNEL) return;
    if (payload.startsWith('m:')) {
      const nl = payload.indexOf('\n');
      if (nl > 0) this.deliverBroadcast(payload.slice(2, nl), payload.slice(nl + 1));
    } else if (payload.startsWith('r:')) {
      const id = Number(payload.slice(2));
      if (!Number.isSafeInteger(id)) return;
      void this.query<{ exchange: string; payload: string }>(SQL.readBroadcastRow, [id])
        .then(({ rows }) => rows[0] && this.deliverBroadcast(rows[0].exchange, rows[0].payload))
        .catch(() => undefined);
    }
  }

  private deliverBroadcast(exchange: string, raw: string): void {
    for (const listener of [...(this.listeners.get(exchange) ?? [])]) {
      try {
        listener(raw);
      } catch {
        // A listener's failure must not stop delivery to the others.
      }
    }
  }

  async ack(tag: string, holder?: string): Promise<boolean | void> {
    const id = tagId(tag);
    if (id === undefined) return;
    if (holder === undefined) await this.query(SQL.ack, [id]);
    else return (await this.query(SQL.ackHeld, [id, holder])).rowCount === 1;
  }

  /**
   * The virtual layer frees the prefetch slot before the requeue has run; takes in this process wait for requeues
   * already started, so a requeued message is taken again before the rows behind it (its id keeps it first).
   */
  async requeue(tag: string, holder?: string): Promise<boolean> {
    const pending = this.requeueNow(tag, holder ?? null);
    this.inflight.add(pending);
    try {
      return await pending;
    } finally {
      this.inflight.delete(pending);
    }
  }

  private async requeueNow(tag: string, holder: string | null): Promise<boolean> {
    const id = tagId(tag);
    if (id === undefined) return false;
    const row = (await this.query<{ id: number; payload: string }>(SQL.selectTaken, [id, holder])).rows[0];
    if (!row) return false;
    // Conditional on taken_at (and the lease): a concurrent ack or restore makes this a no-op.
    const { rowCount } = await this.query(SQL.requeue, [markRedeliveredIfEnvelope(row.payload), id, holder]);
    if (rowCount) await this.notifyPut('');
    return Boolean(rowCount);
  }

  /** Worker leases, judged on the server's clock. */
  readonly leases: QueueStoreLeases = {
    open: async (id, ttlMs) => void (await this.query(SQL.leaseOpen, [id, Math.round(ttlMs)])),
    renew: async (id, ttlMs) => (await this.query(SQL.leaseRenew, [id, Math.round(ttlMs)])).rowCount === 1,
    sweep: async () => {
      let total = 0;
      for (;;) {
        const { rows } = await this.query<{ id: number; payload: string; lease_id: string }>(SQL.sweepLeases);
        total += await this.restoreLeased(rows);
        if (rows.length < 1000) return total;
      }
    },
    release: async (id) => {
      const n = await this.restoreLeased((await this.query<{ id: number; payload: string; lease_id: string }>(SQL.selectLeased, [id])).rows);
      await this.query(SQL.leaseDelete, [id]);
      return n;
    },
    held: async (id) => (await this.query<{ id: number }>(SQL.selectLeasedIds, [id])).rows.map((r) => String(r.id)),
  };

  private async restoreLeased(rows: ReadonlyArray<{ id: number; payload: string; lease_id: string }>): Promise<number> {
    if (!rows.length) return 0;
    const { rowCount } = await this.query(SQL.restoreLeased, [rows.map((r) => Number(r.id)), rows.map((r) => markRedeliveredIfEnvelope(r.payload)), rows.map((r) => r.lease_id)]);
    if (rowCount) await this.notifyPut('');
    return rowCount ?? 0;
  }

  async restoreExpired(visibilityTimeoutMs: number): Promise<number> {
    const cutoff = Date.now() - visibilityTimeoutMs;
    let total = 0;
    for (;;) {
      const { rows } = await this.query<{ id: number; payload: string }>(SQL.selectExpired, [cutoff]);
      if (!rows.length) break;
      const { rowCount } = await this.query(SQL.restore, [rows.map((r) => Number(r.id)), rows.map((r) => markRedeliveredIfEnvelope(r.payload)), cutoff]);
      total += rowCount ?? 0;
      if (rows.length < 1000) break;
    }
    if (total) await this.notifyPut('');
    return total;
  }

  /** Wake takers of every process (payload '' = every queue). */
  private async notifyPut(queue: string): Promise<void> {
    await this.query(SQL.notify, [PUT_CHANNEL, queue]);
    this.wakeLocal(queue || undefined);
  }

  async size(queue: string): Promise<number> {
    const id = await this.queueId(queue, false);
    if (id === undefined) return 0;
    return Number((await this.query<{ n: string }>(SQL.size, [id])).rows[0]?.n ?? 0);
  }

  async purge(queue: string): Promise<number> {
    const id = await this.queueId(queue, false);
    if (id === undefined) return 0;
    return (await this.query(SQL.purge, [id])).rowCount ?? 0;
  }

  readonly bindings = {
    add: async (b: Binding): Promise<void> => {
      await this.query(SQL.addBinding, [b.exchange, b.routingKey, b.pattern, b.queue]);
    },
    remove: async (b: Binding): Promise<void> => {
      await this.query(SQL.removeBinding, [b.exchange, b.routingKey, b.pattern, b.queue]);
    },
    list: async (exchange: string): Promise<readonly Binding[]> => {
      const { rows } = await this.query<{ exchange: string; routing_key: string; pattern: string; queue: string }>(SQL.listBindings, [exchange]);
      return rows.map((r) => ({ exchange: r.exchange, routingKey: r.routing_key, pattern: r.pattern, queue: r.queue }));
    },
  };

  readonly deferral = {
    defer: async (tag: string, dueAt: number, holder?: string): Promise<boolean> => {
      const id = tagId(tag);
      return id !== undefined && (await this.query(SQL.defer, [Math.trunc(dueAt), id, holder ?? null])).rowCount === 1;
    },
    releaseDue: async (now: number): Promise<number> => {
      const n = (await this.query(SQL.releaseDue, [Math.trunc(now)])).rowCount ?? 0;
      if (n) await this.notifyPut('');
      return n;
    },
  };

  /** Fanout over NOTIFY; see the file header. */
  readonly broadcast = {
    publish: async (channel: string, raw: string): Promise<void> => {
      // `exchange/routing_key` reaches every listener of the exchange; topic filtering is done by the virtual layer.
      const slash = channel.indexOf('/');
      const exchange = slash < 0 ? channel : channel.slice(0, slash);
      const inline = `m:${exchange}\n${raw}`;
      if (Buffer.byteLength(inline, 'utf8') <= MAX_NOTIFY_BYTES) {
        await this.query(SQL.notify, [BROADCAST_CHANNEL, inline]);
        return;
      }
      const now = Date.now();
      const { rows } = await this.query<{ id: string }>(SQL.publishBroadcastRow, [exchange, raw, now]);
      await this.query(SQL.notify, [BROADCAST_CHANNEL, `r:${rows[0]!.id}`]);
      if (now - this.lastPrune > 10_000) {
        this.lastPrune = now;
        await this.query(SQL.pruneBroadcast, [now - BROADCAST_KEEP_MS]);
      }
    },
    listen: async (channel: string, onMessage: (raw: string) => void): Promise<() => Promise<void>> => {
      try {
        await this.listener.ready();
      } catch (error) {
        throw wrapPgError(error, this.url, 'broker');
      }
      let set = this.listeners.get(channel);
      if (!set) this.listeners.set(channel, (set = new Set()));
      const listener = (raw: string) => onMessage(raw);
      set.add(listener);
      return async () => {
        set.delete(listener);
        if (!set.size) this.listeners.delete(channel);
      };
    },
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.wakeLocal();
    await this.listener.close();
    await this.pool.end().catch(() => undefined);
  }
}

/** Open a QueueStore on the database of a postgresql:// URL. */
export function createPostgresStore(url: string, options: Readonly<Record<string, unknown>> = {}): PgQueueStore {
  return new PgQueueStore(url, options);
}

/** postgresql:// broker: the virtual transport over PgQueueStore. */
export const createTransport: TransportFactory = (options) =>
  createVirtualTransport(createPostgresStore(options.url, options.transportOptions), {
    displayUrl: redactUrl(options.url),
    transportOptions: options.transportOptions,
    capabilities: { priority: true },
    isRecoverable: isPgConnectionError,
  });
