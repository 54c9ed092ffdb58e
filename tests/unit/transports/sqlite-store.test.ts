// The SQLite QueueStore on its own: claim atomicity across processes, priority, requeue, visibility restore,
// deferral, polling, bindings, broadcast, and sharing kombu's tables with Python.

import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore, type SqliteQueueStore } from '../../../src/transports/sql/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-sqlite-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const open: SqliteQueueStore[] = [];
function fresh(): { url: string; file: string; store: () => SqliteQueueStore } {
  const file = join(dir, `b${++n}.db`);
  return {
    url: `sqlite:///${file}`,
    file,
    store: () => {
      const s = createSqliteStore(`sqlite:///${file}`);
      open.push(s);
      return s;
    },
  };
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const never = new AbortController().signal;
const env = (body: string) => JSON.stringify({ body, 'content-encoding': 'utf-8', 'content-type': 'application/json', headers: {}, properties: { delivery_info: { exchange: '', routing_key: 'q' }, delivery_tag: body } });
const bodyOf = (raw: string) => (JSON.parse(raw) as { body: string }).body;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SqliteQueueStore', () => {
  it('serves higher priorities first, then FIFO, and takes up to max', async () => {
    const s = fresh().store();
    await s.put('q', env('a0'), 0);
    await s.put('q', env('b5'), 5);
    await s.put('q', env('c5'), 5);
    await s.put('q', env('d9'), 9);
    await s.put('q', env('e0'), 0);
    const first = await s.take(['q'], { timeoutMs: 0, signal: never, max: 3 });
    expect(first.map((t) => bodyOf(t.raw))).toEqual(['d9', 'b5', 'c5']);
    expect(first.every((t) => t.queue === 'q')).toBe(true);
    expect(await s.size('q')).toBe(2);
    const rest = await s.take(['q'], { timeoutMs: 0, signal: never, max: 10 });
    expect(rest.map((t) => bodyOf(t.raw))).toEqual(['a0', 'e0']);
  });

  it('takes from the queues in the order given', async () => {
    const s = fresh().store();
    await s.put('low', env('l1'), 0);
    await s.put('high', env('h1'), 0);
    await s.put('high', env('h2'), 0);
    const taken = await s.take(['high', 'low', 'missing'], { timeoutMs: 0, signal: never, max: 10 });
    expect(taken.map((t) => `${t.queue}:${bodyOf(t.raw)}`)).toEqual(['high:h1', 'high:h2', 'low:l1']);
  });

  it('requeues to the head, marked redelivered; ack deletes the row', async () => {
    const { store, file } = fresh();
    const s = store();
    await s.put('q', env('first'), 0);
    await s.put('q', env('second'), 0);
    const [t] = await s.take(['q'], { timeoutMs: 0, signal: never, max: 1 });
    await s.requeue(t!.tag);
    await s.requeue(t!.tag); // a second requeue of the same tag changes nothing
    expect(await s.size('q')).toBe(2);
    const [again] = await s.take(['q'], { timeoutMs: 0, signal: never, max: 1 });
    expect(bodyOf(again!.raw)).toBe('first');
    const doc = JSON.parse(again!.raw) as { headers: { redelivered?: boolean }; properties: { delivery_info: { redelivered?: boolean } } };
    expect(doc.headers.redelivered).toBe(true);
    expect(doc.properties.delivery_info.redelivered).toBe(true);
    await s.ack(again!.tag);
    const db = new Database(file, { readonly: true });
    try {
      expect((db.prepare('SELECT COUNT(*) AS c FROM kombu_message').get() as { c: number }).c).toBe(1);
    } finally {
      db.close();
    }
  });

  it('requeues an undecodable payload unchanged', async () => {
    const s = fresh().store();
    await s.put('q', 'not json', 0);
    const [t] = await s.take(['q'], { timeoutMs: 0, signal: never, max: 1 });
    await s.requeue(t!.tag);
    const [again] = await s.take(['q'], { timeoutMs: 0, signal: never, max: 1 });
    expect(again!.raw).toBe('not json');
  });

  it('restores unacked messages older than the visibility timeout, from any process', async () => {
    const { store } = fresh();
    const a = store();
    const b = store();
    await a.put('q', env('lost'), 0);
    const [t] = await a.take(['q'], { timeoutMs: 0, signal: never, max: 1 });
    expect(await b.restoreExpired(60_000)).toBe(0);
    expect(await b.size('q')).toBe(0);
    await pause(30);
    expect(await b.restoreExpired(10)).toBe(1);
    expect(await b.size('q')).toBe(1);
    const [back] = await b.take(['q'], { timeoutMs: 0, signal: never, max: 1 });
    expect(bodyOf(back!.raw)).toBe('lost');
    expect((JSON.parse(back!.raw) as { headers: { redelivered: boolean } }).headers.redelivered).toBe(true);
    // A late ack by the first holder settles the same row (the work was done); nothing is left to restore.
    await a.ack(t!.tag);
    await b.ack(back!.tag);
    expect(await b.restoreExpired(0)).toBe(0);
    expect(await b.size('q')).toBe(0);
  });

  it('does not hand out a deferred message before its due time', async () => {
    const s = fresh().store();
    await s.put('q', env('eta'), 0);
    const [t] = await s.take(['q'], { timeoutMs: 0, signal: never, max: 1 });
    const dueAt = Date.now() + 250;
    await s.deferral.defer(t!.tag, dueAt);
    expect(await s.restoreExpired(0)).toBe(0); // deferred is not unacked: the visibility sweep leaves it alone
    expect(await s.deferral.releaseDue(Date.now())).toBe(0);
    expect(await s.take(['q'], { timeoutMs: 100, signal: never, max: 1 })).toEqual([]);
    expect(await s.size('q')).toBe(0);
    await pause(Math.max(0, dueAt - Date.now()) + 5);
    expect(await s.deferral.releaseDue(Date.now())).toBe(1);
    const [again] = await s.take(['q'], { timeoutMs: 0, signal: never, max: 1 });
    expect(bodyOf(again!.raw)).toBe('eta');
  });

  it('waits for a message put by another connection, returns [] at the timeout, and stops on abort', async () => {
    const { store } = fresh();
    const taker = store();
    const putter = store();
    await taker.size('q');
    let started = Date.now();
    expect(await taker.take(['q'], { timeoutMs: 200, signal: never, max: 1 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);

    started = Date.now();
    setTimeout(() => void putter.put('q', env('late'), 0), 150);
    const [t] = await taker.take(['q'], { timeoutMs: 5_000, signal: never, max: 1 });
    expect(bodyOf(t!.raw)).toBe('late');
    expect(Date.now() - started).toBeLessThan(1_000);

    const abort = new AbortController();
    started = Date.now();
    setTimeout(() => abort.abort(), 100);
    expect(await taker.take(['q'], { timeoutMs: 10_000, signal: abort.signal, max: 1 })).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('purges and counts only waiting messages; unacked ones stay settleable', async () => {
    const s = fresh().store();
    for (let i = 0; i < 4; i++) await s.put('q', env(`m${i}`), 0);
    await s.put('other', env('o'), 0);
    const [held] = await s.take(['q'], { timeoutMs: 0, signal: never, max: 1 });
    expect(await s.size('q')).toBe(3);
    expect(await s.purge('q')).toBe(3);
    expect(await s.size('q')).toBe(0);
    expect(await s.size('other')).toBe(1);
    expect(await s.purge('never-declared')).toBe(0);
    await s.requeue(held!.tag);
    expect(await s.size('q')).toBe(1);
  });

  it('keeps bindings in the file, without duplicates', async () => {
    const { store } = fresh();
    const a = store();
    const b = store();
    const binding = { exchange: 'ex', routingKey: 'rk', pattern: '', queue: 'q1' };
    await a.bindings.add(binding);
    await a.bindings.add(binding);
    await a.bindings.add({ ...binding, queue: 'q2' });
    expect((await b.bindings.list('ex')).map((x) => x.queue)).toEqual(['q1', 'q2']);
    await b.bindings.remove(binding);
    expect(await a.bindings.list('ex')).toEqual([{ exchange: 'ex', routingKey: 'rk', pattern: '', queue: 'q2' }]);
    expect(await a.bindings.list('nothing')).toEqual([]);
  });

  it('broadcasts to every listener that is running, across connections', async () => {
    const { store } = fresh();
    const pub = store();
    const l1 = store();
    const l2 = store();
    await pub.broadcast.publish('ex', 'before');
    const got1: string[] = [];
    const got2: string[] = [];
    const stop1 = await l1.broadcast.listen('ex', (raw) => got1.push(raw));
    await l2.broadcast.listen('ex', (raw) => got2.push(raw));
    await l2.broadcast.listen('other', () => got2.push('wrong exchange'));
    await pub.broadcast.publish('ex/some.key', 'one');
    await pub.broadcast.publish('ex', 'two');
    const deadline = Date.now() + 3_000;
    while ((got1.length < 2 || got2.length < 2) && Date.now() < deadline) await pause(20);
    expect(got1).toEqual(['one', 'two']);
    expect(got2).toEqual(['one', 'two']);
    await stop1();
    await pub.broadcast.publish('ex', 'three');
    await pause(400);
    expect(got1).toEqual(['one', 'two']);
    expect(got2).toEqual(['one', 'two', 'three']);
  });

  it('shares kombu tables with Python: reads its rows, adds columns, never restores rows Python took', async () => {
    const { store, file } = fresh();
    // The exact DDL Python's kombu creates (SQL-WIRE.md §1), and rows as Python writes them.
    const py = new Database(file);
    py.exec(`CREATE TABLE kombu_queue (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, name VARCHAR(200), UNIQUE (name));
      CREATE TABLE kombu_message (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, visible BOOLEAN, timestamp DATETIME, payload TEXT NOT NULL, version SMALLINT NOT NULL, queue_id INTEGER, CONSTRAINT "FK_kombu_message_queue" FOREIGN KEY(queue_id) REFERENCES kombu_queue (id));
      INSERT INTO kombu_queue (name) VALUES ('celery');
      INSERT INTO kombu_message (visible, timestamp, payload, version, queue_id) VALUES (0, '2020-01-01 00:00:00.000000', '${env('python-took-me')}', 2, 1);
      INSERT INTO kombu_message (visible, timestamp, payload, version, queue_id) VALUES (1, NULL, '${env('from-python')}', 1, 1);`);
    py.close();
    const s = store();
    expect(await s.size('celery')).toBe(1);
    const [t] = await s.take(['celery'], { timeoutMs: 0, signal: never, max: 5 });
    expect(bodyOf(t!.raw)).toBe('from-python');
    expect(await s.restoreExpired(0)).toBe(1); // ours comes back; Python's invisible row does not
    expect(await s.size('celery')).toBe(1);
    await s.put('celery', env('from-celeriac'), 3);
    const check = new Database(file, { readonly: true });
    try {
      const rows = check.prepare('SELECT visible, timestamp, version, priority, payload FROM kombu_message ORDER BY id').all() as Array<{ visible: number; timestamp: string | null; version: number; priority: number; payload: string }>;
      expect(rows.map((r) => [bodyOf(r.payload), r.visible, r.priority])).toEqual([
        ['python-took-me', 0, 0],
        ['from-python', 1, 0],
        ['from-celeriac', 1, 3],
      ]);
      expect(rows[1]!.version).toBe(3); // taken (+1) and restored (+1), like kombu's optimistic version column
      expect(rows[2]).toMatchObject({ timestamp: null, version: 1 }); // Python's INSERT shape
    } finally {
      check.close();
    }
    const [next] = await s.take(['celery'], { timeoutMs: 0, signal: never, max: 1 });
    expect(bodyOf(next!.raw)).toBe('from-celeriac'); // priority 3 before priority 0
    const check2 = new Database(file, { readonly: true });
    try {
      const ts = (check2.prepare("SELECT timestamp FROM kombu_message WHERE payload LIKE '%from-celeriac%'").get() as { timestamp: string }).timestamp;
      expect(ts).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/); // kombu's naive local datetime text
    } finally {
      check2.close();
    }
  });

  it('never gives one message to two processes taking from the same file at once', async () => {
    const { store, url } = fresh();
    const s = store();
    await s.size('jobs');
    const total = 400;
    const src = resolve(__dirname, '../../../src/transports/sql/sqlite.ts');
    // Each child says "ready" once its store is open, then takes (and acks) until the queue stays empty for 1 s.
    const script = `
      import { createSqliteStore } from ${JSON.stringify(src)};
      const s = createSqliteStore(${JSON.stringify(url)});
      await s.size('jobs');
      process.stdout.write('ready\\n');
      const signal = new AbortController().signal;
      const got = [];
      for (;;) {
        const taken = await s.take(['jobs'], { timeoutMs: got.length ? 1000 : 10000, signal, max: 3 });
        if (!taken.length) break;
        for (const t of taken) { got.push(JSON.parse(t.raw).body); await s.ack(t.tag); }
        await new Promise((r) => setTimeout(r, 1));
      }
      await s.close();
      process.stdout.write(JSON.stringify(got) + '\\n');`;
    const children = Array.from({ length: 3 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      let onReady!: () => void;
      const ready = new Promise<void>((r) => (onReady = r));
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.startsWith('ready\n')) onReady();
      });
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const result = new Promise<string[]>((done, fail) =>
        child.on('exit', (code) => (code === 0 ? done(JSON.parse(out.trim().split('\n').pop()!) as string[]) : fail(new Error(`child exited ${code}: ${err}`)))));
      return { ready, result };
    });
    await Promise.all(children.map((c) => c.ready));
    for (let i = 0; i < total; i++) await s.put('jobs', env(`j${i}`), i % 3);
    const results = await Promise.all(children.map((c) => c.result));
    const all = results.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    expect(results.filter((r) => r.length > 0).length).toBeGreaterThanOrEqual(2); // they really competed
    expect(await s.size('jobs')).toBe(0);
  }, 60_000);
});
