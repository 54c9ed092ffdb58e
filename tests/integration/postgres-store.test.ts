// The PostgreSQL broker store and result backend at the row level, in a database of this file's own: the tables
// and sequences Python expects, SKIP LOCKED takes that never hand one row to two consumers, LISTEN wake-ups and
// the fallback poll for rows inserted without NOTIFY (as Python does), abort, large broadcasts through the table,
// concurrent schema creation, restore/defer, the pickled result column, and connection errors without passwords.

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createBackend } from '../../src/backends/postgres.js';
import { OperationalError } from '../../src/errors.js';
import { encodeEnvelope } from '../../src/protocol/envelope.js';
import { isPgConnectionError, pgConfig } from '../../src/drivers/postgres.js';
import { PgQueueStore } from '../../src/transports/sql/postgres.js';
import type { OutgoingMessage } from '../../src/transports/transport.js';
import { createTestDatabase } from '../support/postgres.js';

const database = await createTestDatabase(inject('postgresUrl'), 'celeriac_store');
const url = database.url;
const raw = new pg.Pool({ connectionString: url, max: 2 });
const never = new AbortController().signal;
const stores: PgQueueStore[] = [];

function store(options: Record<string, unknown> = {}): PgQueueStore {
  const s = new PgQueueStore(url, options);
  stores.push(s);
  return s;
}

function envelope(body: string, queue: string, priority = 0): string {
  const m: OutgoingMessage = {
    body: Buffer.from(JSON.stringify(body)),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { id: randomUUID(), task: 'pg.test' },
    properties: { delivery_mode: 2, priority, correlation_id: randomUUID() },
  };
  return encodeEnvelope(m, { exchange: '', routingKey: queue });
}

const q = (label: string) => `pg.${label}.${randomUUID().slice(0, 8)}`;

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await raw.end();
  await database.drop();
});

describe('PostgreSQL broker store', () => {
  it('creates the schema concurrently without failing, with Python\'s sequences and no id defaults', async () => {
    const many = Array.from({ length: 5 }, () => store());
    await Promise.all(many.map((s) => s.size('celery')));
    const seqs = await raw.query("SELECT relname FROM pg_class WHERE relkind = 'S' ORDER BY relname");
    expect(seqs.rows.map((r) => r.relname)).toEqual(expect.arrayContaining(['message_id_sequence', 'queue_id_sequence']));
    const def = await raw.query("SELECT column_default FROM information_schema.columns WHERE table_name = 'kombu_message' AND column_name = 'id'");
    expect(def.rows[0].column_default).toBeNull();
    const cols = await raw.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'kombu_message'");
    expect(cols.rows.map((r) => r.column_name).sort()).toEqual(['due_at', 'id', 'lease_id', 'payload', 'priority', 'queue_id', 'taken_at', 'timestamp', 'version', 'visible']);
  });

  it('never gives one row to two of several concurrent takers', async () => {
    const queue = q('race');
    const producer = store();
    for (let i = 0; i < 60; i++) await producer.put(queue, envelope(`m${i}`, queue), 0);
    const takers = Array.from({ length: 4 }, () => store());
    const results = await Promise.all(takers.map(async (s) => {
      const tags: string[] = [];
      for (;;) {
        const got = await s.take([queue], { timeoutMs: 0, signal: never, max: 3 });
        if (!got.length) return tags;
        tags.push(...got.map((t) => t.tag));
      }
    }));
    const all = results.flat();
    expect(all).toHaveLength(60);
    expect(new Set(all).size).toBe(60);
    const taken = await raw.query('SELECT COUNT(*)::int AS n FROM kombu_message m JOIN kombu_queue k ON k.id = m.queue_id WHERE k.name = $1 AND visible = false AND taken_at IS NOT NULL', [queue]);
    expect(taken.rows[0].n).toBe(60);
  });

  it('wakes a waiting taker by NOTIFY well before the poll interval', async () => {
    const queue = q('notify');
    const consumer = store({ polling_interval: 5 });
    const producer = store();
    await producer.put(queue, envelope('warm', queue), 0); // creates the queue row
    await consumer.take([queue], { timeoutMs: 0, signal: never, max: 1 });
    const started = Date.now();
    const waiting = consumer.take([queue], { timeoutMs: 4_000, signal: never, max: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await producer.put(queue, envelope('hello', queue), 0);
    const got = await waiting;
    expect(got).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('finds rows inserted without NOTIFY (as Python inserts them) by polling, and abort ends a wait at once', async () => {
    const queue = q('python');
    const s = store({ polling_interval: 0.1 });
    await s.put(queue, envelope('first', queue), 0);
    await s.take([queue], { timeoutMs: 0, signal: never, max: 1 });
    const waiting = s.take([queue], { timeoutMs: 5_000, signal: never, max: 1 });
    await new Promise((r) => setTimeout(r, 150));
    // Python's INSERT (SQL-WIRE.md §1): explicit nextval, visible true, version 1, timestamp NULL; no priority.
    await raw.query("INSERT INTO kombu_message (id, visible, timestamp, payload, version, queue_id) SELECT nextval('message_id_sequence'), true, NULL, $1, 1, id FROM kombu_queue WHERE name = $2", [envelope('from python', queue), queue]);
    const got = await waiting;
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.raw).headers.task).toBe('pg.test');

    const ac = new AbortController();
    const started = Date.now();
    const aborted = s.take([queue], { timeoutMs: 10_000, signal: ac.signal, max: 1 });
    setTimeout(() => ac.abort(), 100);
    expect(await aborted).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('restores expired unacked rows marked redelivered, and defers rows until due', async () => {
    const queue = q('restore');
    const s = store();
    await s.put(queue, envelope('lost', queue), 0);
    const [t] = await s.take([queue], { timeoutMs: 0, signal: never, max: 1 });
    expect(await s.size(queue)).toBe(0);
    expect(await s.restoreExpired(60_000)).toBe(0);
    // restoreExpired is global: rows other tests left taken come back too.
    expect(await s.restoreExpired(0)).toBeGreaterThanOrEqual(1);
    const [again] = await s.take([queue], { timeoutMs: 0, signal: never, max: 1 });
    expect(again!.tag).toBe(t!.tag);
    expect(JSON.parse(again!.raw).properties.delivery_info.redelivered).toBe(true);
    await s.deferral.defer(again!.tag, Date.now() + 60_000);
    expect(await s.take([queue], { timeoutMs: 0, signal: never, max: 1 })).toEqual([]);
    expect(await s.restoreExpired(0)).toBe(0);
    expect(await s.deferral.releaseDue(Date.now() + 120_000)).toBe(1);
    const [due] = await s.take([queue], { timeoutMs: 0, signal: never, max: 1 });
    await s.ack(due!.tag);
    const left = await raw.query('SELECT COUNT(*)::int AS n FROM kombu_message WHERE id = $1', [Number(due!.tag)]);
    expect(left.rows[0].n).toBe(0);
  });

  it('broadcasts small messages inline and large ones through celeriac_broadcast', async () => {
    const a = store();
    const b = store();
    const got: string[] = [];
    const stop = await b.broadcast.listen('celery.pidbox', (m) => got.push(m));
    const big = 'x'.repeat(20_000);
    await a.broadcast.publish('celery.pidbox', 'small');
    await a.broadcast.publish('celery.pidbox/key', big);
    await a.broadcast.publish('other', 'not for us');
    const deadline = Date.now() + 3_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(['small', big]);
    await stop();
  });

  it('recovers after the server terminates its connections (57P01): commands, LISTEN wake-ups and broadcasts', async () => {
    const queue = q('terminated');
    const s = store({ polling_interval: 5 });
    const got: string[] = [];
    await s.broadcast.listen('celeriac.test', (m) => got.push(m));
    await s.put(queue, envelope('before', queue), 0);
    expect(await s.take([queue], { timeoutMs: 0, signal: never, max: 1 })).toHaveLength(1);
    await raw.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    await new Promise((r) => setTimeout(r, 1_500)); // the listener reconnects after a second
    await s.put(queue, envelope('after', queue), 0);
    expect(await s.take([queue], { timeoutMs: 0, signal: never, max: 1 })).toHaveLength(1);
    await s.broadcast.publish('celeriac.test', 'hi');
    const deadline = Date.now() + 3_000;
    while (!got.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual(['hi']);
  });

  it('reports an unreachable server as OperationalError naming the URL without its password', async () => {
    const bad = new PgQueueStore('postgresql://user:s3cret@127.0.0.1:1/db', { connect_timeout: 2 });
    const error = await bad.size('celery').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationalError);
    expect(String((error as Error).message)).toContain('127.0.0.1:1');
    expect(String((error as Error).message)).not.toContain('s3cret');
    await bad.close();
  });
});

describe('PostgreSQL result backend', () => {
  it('stores a safe pickle in bytea with nextval ids, readable back, and never overwrites SUCCESS', async () => {
    const backend = await createBackend({ url, serializer: 'json', options: {}, extended: false });
    try {
      const id = randomUUID();
      await backend.store(id, { status: 'SUCCESS', result: 5, traceback: null, children: [], date_done: '2026-11-25T02:22:47.629972' } as never);
      const row = await raw.query('SELECT id, status, result, date_done::text AS d FROM celery_taskmeta WHERE task_id = $1', [id]);
      // pickle.ts writes protocol 4 (PROTO 4, BININT1 5, STOP); Python reads it like its own protocol-5 bytes.
      expect(Buffer.from(row.rows[0].result).toString('hex')).toBe('80044b052e');
      expect(row.rows[0].d).toBe('2026-11-25 02:22:47.629972');
      await backend.store(id, { status: 'FAILURE', result: null, traceback: 'x', children: [], date_done: null } as never);
      const meta = await backend.get(id);
      expect(meta?.status).toBe('SUCCESS');
      expect(meta?.result).toBe(5);
      expect(meta?.date_done).toBe('2026-11-25T02:22:47.629972');
      const seq = await raw.query("SELECT relname FROM pg_class WHERE relkind = 'S' AND relname IN ('task_id_sequence', 'taskset_id_sequence')");
      expect(seq.rows).toHaveLength(2);
    } finally {
      await backend.close();
    }
  });

  it('wakes waitFor by NOTIFY long before its poll interval, across backend instances', async () => {
    const reader = await createBackend({ url, serializer: 'json', options: {}, extended: false });
    const writer = await createBackend({ url, serializer: 'json', options: {}, extended: false });
    try {
      const id = randomUUID();
      await reader.get(id);
      const started = Date.now();
      const waiting = reader.waitFor(id, { intervalMs: 10_000, timeoutMs: 8_000 });
      await new Promise((r) => setTimeout(r, 300));
      await writer.store(id, { status: 'SUCCESS', result: 'ok', traceback: null, children: [], date_done: null } as never);
      expect((await waiting).result).toBe('ok');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('completes a chord exactly once when parts race through separate backends', async () => {
    const backends = await Promise.all(Array.from({ length: 4 }, () => createBackend({ url, serializer: 'json', options: {}, extended: false })));
    try {
      const gid = randomUUID();
      await backends[0]!.setChordSize(gid, 20);
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        backends[i % 4]!.addChordPart(gid, { index: i, taskId: `t${i}`, state: 'SUCCESS', result: i })));
      const completions = outcomes.filter((o) => o !== null);
      expect(completions).toHaveLength(1);
      expect(completions[0]!.map((p) => p.result)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    } finally {
      await Promise.all(backends.map((b) => b.close()));
    }
  });
});

describe('PostgreSQL connection settings', () => {
  it('accepts celeriac, kombu and SQLAlchemy URL forms and the ssl option', () => {
    for (const u of ['postgres://u:p@h:5/db', 'postgresql://u:p@h:5/db', 'sqla+postgresql://u:p@h:5/db', 'db+postgresql://u:p@h:5/db', 'postgresql+psycopg2://u:p@h:5/db']) {
      expect(pgConfig(u).connectionString).toBe('postgresql://u:p@h:5/db');
    }
    expect(pgConfig('postgresql://h/db', { ssl: true }).ssl).toEqual({});
    expect(pgConfig('postgresql://h/db').ssl).toBeUndefined();
  });

  it('classes connection failures as recoverable and SQL errors as not', () => {
    expect(isPgConnectionError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isPgConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isPgConnectionError(Object.assign(new Error('x'), { code: '08006' }))).toBe(true);
    expect(isPgConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isPgConnectionError(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
  });
});
