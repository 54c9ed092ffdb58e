// The Redis broker store and result backend against a real redis-server, checked at the key level with a raw
// ioredis client: kombu's layout (REDIS-WIRE.md §1, §4, §5), atomic take, restore, the sweep, deferral,
// global_keyprefix, fanout channels, result keys, a process killed right after take, and password/ACL URLs.
// Uses dbs 12–13 of the suite's server (each test flushes them) and private servers for authentication.

import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { openBackend } from '../../src/backends/index.js';
import { OperationalError } from '../../src/errors.js';
import { encodeEnvelope } from '../../src/protocol/envelope.js';
import { buildResultMeta } from '../../src/protocol/result-meta.js';
import { redisConnectionConfig } from '../../src/drivers/redis.js';
import { RedisQueueStore } from '../../src/transports/redis/store.js';
import { openTransport } from '../../src/transports/index.js';
import type { Delivery, OutgoingMessage, Transport } from '../../src/transports/transport.js';
import { repoRoot, sharedDir } from '../support/shared.js';
import { freePort, startRedis, type RedisServer } from '../support/servers.js';

const SEP = '\x06\x16';
const base = inject('redisUrl').replace(/\/\d+$/, '');
const brokerUrl = `${base}/12`;
const resultUrl = `${base}/13`;
const never = new AbortController().signal;

let raw: Redis;
let rawResults: Redis;
const stores: RedisQueueStore[] = [];
const transports: Transport[] = [];

function store(transportOptions: Record<string, unknown> = {}, url = brokerUrl): RedisQueueStore {
  const s = new RedisQueueStore(redisConnectionConfig({ url, transportOptions }), transportOptions);
  stores.push(s);
  return s;
}

async function transport(transportOptions: Record<string, unknown> = {}, url = brokerUrl): Promise<Transport> {
  const t = await openTransport({ url, transportOptions });
  transports.push(t);
  await t.connect();
  return t;
}

function msg(body: string, priority = 0, headers: Record<string, unknown> = {}): OutgoingMessage {
  return {
    body: Buffer.from(JSON.stringify(body)),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { id: randomUUID(), task: 'redis.test', ...headers },
    properties: { delivery_mode: 2, priority, correlation_id: randomUUID() },
  };
}

const envelope = (body: string, queue: string, priority = 0, headers: Record<string, unknown> = {}) =>
  encodeEnvelope(msg(body, priority, headers), { exchange: '', routingKey: queue });

beforeAll(() => {
  raw = new Redis(brokerUrl);
  rawResults = new Redis(resultUrl);
});
afterAll(async () => {
  await raw.quit();
  await rawResults.quit();
});
beforeEach(async () => {
  await raw.flushdb();
  await rawResults.flushdb();
});
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

describe('redis broker: key layout', () => {
  it('publishes with LPUSH to the queue list, records bindings, holds taken messages in unacked and clears them on ack', async () => {
    const t = await transport();
    await t.declare({ name: 'layout' });
    expect(await raw.smembers('_kombu.binding.layout')).toEqual([`layout${SEP}${SEP}layout`]);
    await t.publish(msg('first'), { exchange: '', routingKey: 'layout' });
    await t.publish(msg('second'), { exchange: '', routingKey: 'layout' });
    const listed = await raw.lrange('layout', 0, -1);
    expect(listed).toHaveLength(2);
    // LPUSH: the newest is on the left, the consuming end is the right.
    expect(JSON.parse(Buffer.from(JSON.parse(listed[1]!).body, 'base64').toString())).toBe('first');
    const env = JSON.parse(listed[1]!);
    expect(Object.keys(env)).toEqual(['body', 'content-encoding', 'content-type', 'headers', 'properties']);
    expect(env.properties).toMatchObject({ delivery_info: { exchange: '', routing_key: 'layout' }, body_encoding: 'base64', priority: 0 });

    const s = store();
    const before = Date.now() / 1000;
    const taken = await s.take(['layout'], { timeoutMs: 0, signal: never, max: 1 });
    expect(taken).toHaveLength(1);
    expect(taken[0]!.raw).toBe(listed[1]);
    expect(taken[0]!.tag).toBe(env.properties.delivery_tag);
    expect(await raw.llen('layout')).toBe(1);
    const unacked = await raw.hgetall('unacked');
    expect(Object.keys(unacked)).toEqual([taken[0]!.tag]);
    // kombu's value: [envelope, exchange, routing_key]; the envelope embedded verbatim.
    expect(unacked[taken[0]!.tag]).toBe(`[${listed[1]}, "", "layout"]`);
    const [tag, score] = await raw.zrange('unacked_index', 0, -1, 'WITHSCORES');
    expect(tag).toBe(taken[0]!.tag);
    expect(Number(score)).toBeGreaterThanOrEqual(before - 1);
    expect(Number(score)).toBeLessThanOrEqual(Date.now() / 1000 + 1);

    await s.ack(taken[0]!.tag);
    expect(await raw.hlen('unacked')).toBe(0);
    expect(await raw.zcard('unacked_index')).toBe(0);
  });

  it('maps priorities to kombu priority lists and serves the lower number first', async () => {
    const s = store();
    const cases: Array<[number, string]> = [[0, 'prio'], [2, 'prio'], [3, `prio${SEP}3`], [5, `prio${SEP}3`], [6, `prio${SEP}6`], [8, `prio${SEP}6`], [9, `prio${SEP}9`], [255, `prio${SEP}9`]];
    for (const [p, list] of cases) {
      const before = await raw.llen(list);
      await s.put('prio', envelope(`p${p}`, 'prio', p), p);
      expect(await raw.llen(list)).toBe(before + 1);
    }
    expect(await s.size('prio')).toBe(cases.length);
    const taken = await s.take(['prio'], { timeoutMs: 0, signal: never, max: 100 });
    const bodies = taken.map((m) => JSON.parse(Buffer.from(JSON.parse(m.raw).body, 'base64').toString()));
    expect(bodies).toEqual(['p0', 'p2', 'p3', 'p5', 'p6', 'p8', 'p9', 'p255']);
    expect(await raw.hlen('unacked')).toBe(cases.length);
  });

  it('honours priority_steps and sep transport options', async () => {
    const s = store({ priority_steps: [0, 5], sep: ':' });
    await s.put('steps', envelope('a', 'steps', 7), 7);
    await s.put('steps', envelope('b', 'steps', 4), 4);
    expect(await raw.llen('steps:5')).toBe(1);
    expect(await raw.llen('steps')).toBe(1);
    const taken = await s.take(['steps'], { timeoutMs: 0, signal: never, max: 10 });
    expect(taken.map((m) => JSON.parse(Buffer.from(JSON.parse(m.raw).body, 'base64').toString()))).toEqual(['b', 'a']);
  });

  it('takes across queues in the order given, and rotates with queue_order_strategy round_robin', async () => {
    const s = store();
    for (const q of ['qa', 'qb']) for (let i = 0; i < 2; i++) await s.put(q, envelope(`${q}${i}`, q), 0);
    const first = await s.take(['qa', 'qb'], { timeoutMs: 0, signal: never, max: 3 });
    expect(first.map((m) => m.queue)).toEqual(['qa', 'qa', 'qb']);

    await raw.flushdb();
    const rr = store({ queue_order_strategy: 'round_robin' });
    for (const q of ['qa', 'qb']) for (let i = 0; i < 2; i++) await rr.put(q, envelope(`${q}${i}`, q), 0);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push(...(await rr.take(['qa', 'qb'], { timeoutMs: 0, signal: never, max: 1 })).map((m) => m.queue));
    expect(order).toEqual(['qa', 'qb', 'qa', 'qb']);
  });

  it('requeue marks redelivered in headers and delivery_info by editing the text, and RPUSHes to the consuming end', async () => {
    const s = store();
    // Empty arrays and big integers must survive: cjson would turn [] into {} and round the number.
    const original = envelope('again', 'rq', 5, { empty: [], big: 12345678901234567890, nested: { a: [] } });
    await s.put('rq', original, 5);
    const [taken] = await s.take(['rq'], { timeoutMs: 0, signal: never, max: 1 });
    await s.put('rq', envelope('later', 'rq', 5), 5);
    await s.requeue(taken!.tag);
    expect(await raw.hlen('unacked')).toBe(0);
    expect(await raw.zcard('unacked_index')).toBe(0);
    const list = await raw.lrange(`rq${SEP}3`, 0, -1);
    expect(list).toHaveLength(2);
    const restored = list[1]!; // right end: taken next
    expect(restored).toContain('"empty":[]');
    expect(original).toContain('"big":12345678901234567000');
    expect(restored).toContain('"big":12345678901234567000');
    expect(restored).toContain('"nested":{"a":[]}');
    const doc = JSON.parse(restored);
    const orig = JSON.parse(original);
    expect(doc.headers).toEqual({ ...orig.headers, redelivered: true });
    expect(doc.properties).toEqual({ ...orig.properties, delivery_info: { ...orig.properties.delivery_info, redelivered: true } });
    expect(doc.body).toBe(orig.body);
    // Restoring twice does not duplicate the key.
    const [again] = await s.take(['rq'], { timeoutMs: 0, signal: never, max: 1 });
    await s.requeue(again!.tag);
    const twice = (await raw.lrange(`rq${SEP}3`, -1, -1))[0]!;
    expect(twice.match(/"redelivered"/g)).toHaveLength(2);
    // The consumer sees it as redelivered.
    const t = await transport();
    const got = await new Promise<Delivery>((resolve) => void t.subscribe(['rq'], resolve, { prefetch: 1 }));
    expect(got.redelivered).toBe(true);
    await got.ack();
  });

  it('restoreExpired sweeps only entries older than the visibility timeout, and skips while unacked_mutex is held', async () => {
    const s = store();
    for (let i = 0; i < 3; i++) await s.put('sweep', envelope(`m${i}`, 'sweep'), 0);
    const taken = await s.take(['sweep'], { timeoutMs: 0, signal: never, max: 3 });
    expect(await s.restoreExpired(60_000)).toBe(0);
    await raw.set('unacked_mutex', 'someone-else', 'PX', 10_000);
    expect(await s.restoreExpired(0)).toBe(0);
    expect(await raw.hlen('unacked')).toBe(3);
    await raw.del('unacked_mutex');
    expect(await s.restoreExpired(0)).toBe(3);
    expect(await raw.exists('unacked_mutex')).toBe(0);
    expect(await raw.hlen('unacked')).toBe(0);
    const back = await s.take(['sweep'], { timeoutMs: 0, signal: never, max: 3 });
    expect(new Set(back.map((m) => m.tag))).toEqual(new Set(taken.map((m) => m.tag)));
    expect(back.every((m) => JSON.parse(m.raw).headers.redelivered === true)).toBe(true);
  });

  it('restores an unacked entry written by Python Celery exactly as kombu did (fixture 19)', async () => {
    const capture = JSON.parse(readFileSync(join(sharedDir, 'protocol/fixtures/redis/19-warm-shutdown-restore.json'), 'utf8')) as { commands: Array<{ args: string[] }> };
    const hset = capture.commands.find((c) => c.args[0] === 'HSET' && c.args[1] === 'unacked')!.args;
    const rpush = capture.commands.find((c) => c.args[0] === 'RPUSH')!.args;
    await raw.hset('unacked', hset[2]!, hset[3]!);
    await raw.zadd('unacked_index', 1000, hset[2]!);
    const s = store();
    expect(await s.restoreExpired(1000)).toBe(1);
    const restored = await raw.lrange(rpush[1]!, 0, -1);
    expect(restored).toHaveLength(1);
    expect(JSON.parse(restored[0]!)).toEqual(JSON.parse(rpush[2]!));
  });

  it('restores a kombu entry with a named exchange through its binding set', async () => {
    const env = envelope('named', 'target');
    await raw.sadd('_kombu.binding.ex1', `rk1${SEP}${SEP}target`, `other${SEP}${SEP}elsewhere`);
    await raw.hset('unacked', 'tag-1', `[${env}, "ex1", "rk1"]`);
    await raw.zadd('unacked_index', 1000, 'tag-1');
    expect(await store().restoreExpired(1000)).toBe(1);
    expect(await raw.llen('target')).toBe(1);
    expect(await raw.llen('elsewhere')).toBe(0);
    // An entry naming no queue cannot be restored: it stays in unacked (out of the index), never dropped.
    await raw.hset('unacked', 'junk', '{"not": "kombu"}');
    await raw.zadd('unacked_index', 1000, 'junk');
    expect(await store().restoreExpired(1000)).toBe(0);
    expect(await raw.hget('unacked', 'junk')).toBe('{"not": "kombu"}');
    expect(await raw.zcard('unacked_index')).toBe(0);
  });

  it('returns a non-JSON entry under a generated tag so it can be rejected, and gives duplicate tags distinct ones', async () => {
    const s = store();
    await raw.lpush('bad', 'not json at all');
    const env = envelope('twice', 'dup');
    await raw.lpush('dup', env, env);
    const taken = await s.take(['bad', 'dup'], { timeoutMs: 0, signal: never, max: 10 });
    expect(taken.map((m) => m.raw)).toEqual(['not json at all', env, env]);
    expect(new Set(taken.map((m) => m.tag)).size).toBe(3);
    expect(JSON.parse((await raw.hget('unacked', taken[0]!.tag))!)).toEqual(['not json at all', '', 'bad']);
    await s.requeue(taken[0]!.tag);
    expect(await raw.lrange('bad', 0, -1)).toEqual(['not json at all']);
    // Through the transport: a decode error delivery, rejected without requeue, is gone.
    const t = await transport();
    const d = await new Promise<Delivery>((resolve) => void t.subscribe(['bad'], resolve, { prefetch: 1 }));
    expect(d.decodeError).toBeDefined();
    await d.reject({ requeue: false });
    await new Promise((r) => setTimeout(r, 50));
    expect(await raw.llen('bad')).toBe(0);
    expect(await raw.hexists('unacked', taken[0]!.tag)).toBe(0);
  });

  it('loses nothing when the taking process is SIGKILLed right after take', async () => {
    const s = store();
    for (let i = 0; i < 5; i++) await s.put('crash', envelope(`c${i}`, 'crash'), 0);
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-redis-kill-'));
    const script = join(dir, 'take-and-die.mts');
    writeFileSync(script, `
const root = process.argv[2];
const { RedisQueueStore } = await import(root + '/src/transports/redis/store.ts');
const { redisConnectionConfig } = await import(root + '/src/drivers/redis.ts');
const store = new RedisQueueStore(redisConnectionConfig({ url: process.argv[3] }), {});
const taken = await store.take(['crash'], { timeoutMs: 1000, signal: new AbortController().signal, max: 5 });
process.stdout.write(JSON.stringify(taken.map((t) => t.tag)) + '\\n', () => process.kill(process.pid, 'SIGKILL'));
`);
    try {
      const child = spawnSync(process.execPath, ['--import', 'tsx', script, repoRoot, brokerUrl], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
      expect(child.signal).toBe('SIGKILL');
      const tags = JSON.parse(child.stdout.trim()) as string[];
      expect(tags).toHaveLength(5);
      expect(await raw.llen('crash')).toBe(0);
      expect((await raw.hkeys('unacked')).sort()).toEqual([...tags].sort());
      expect(await s.restoreExpired(0)).toBe(5);
      expect(await raw.llen('crash')).toBe(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('defers an unacked message to celeriac.deferred and releases it when due', async () => {
    const s = store();
    await s.put('later', envelope('eta', 'later', 6), 6);
    const [taken] = await s.take(['later'], { timeoutMs: 0, signal: never, max: 1 });
    const due = Date.now() + 60_000;
    await s.deferral.defer(taken!.tag, due);
    expect(await raw.hlen('unacked')).toBe(0);
    expect(await raw.zcard('unacked_index')).toBe(0);
    const [member, score] = await raw.zrange('celeriac.deferred', 0, -1, 'WITHSCORES');
    expect(member).toBe(`[${taken!.raw}, "", "later"]`);
    expect(Number(score)).toBe(due);
    // The sweep cannot touch it.
    expect(await s.restoreExpired(0)).toBe(0);
    expect(await s.deferral.releaseDue(Date.now())).toBe(0);
    expect(await s.deferral.releaseDue(due)).toBe(1);
    expect(await raw.zcard('celeriac.deferred')).toBe(0);
    const back = await raw.lrange(`later${SEP}6`, 0, -1);
    expect(back).toEqual([taken!.raw]); // not marked redelivered
  });

  it('wakes a blocked take as soon as a message arrives, and ends the wait promptly on abort', async () => {
    const s = store();
    const p = store();
    const started = Date.now();
    const pending = s.take(['wake'], { timeoutMs: 5_000, signal: never, max: 1 });
    setTimeout(() => void p.put('wake', envelope('w', 'wake'), 0), 100);
    expect(await pending).toHaveLength(1);
    // Step 0 is the list the wait blocks on: well under the re-check interval plus the delay.
    expect(Date.now() - started).toBeLessThan(1_000);

    const other = Date.now();
    const pendingHigh = s.take(['wake'], { timeoutMs: 5_000, signal: never, max: 1 });
    setTimeout(() => void p.put('wake', envelope('w9', 'wake', 9), 9), 100);
    expect(await pendingHigh).toHaveLength(1);
    expect(Date.now() - other).toBeLessThan(1_000);

    const abort = new AbortController();
    const t0 = Date.now();
    const waiting = s.take(['wake'], { timeoutMs: 10_000, signal: abort.signal, max: 1 });
    setTimeout(() => abort.abort(), 100);
    expect(await waiting).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(1_000);
    // The store still works after an abort.
    await p.put('wake', envelope('x', 'wake'), 0);
    expect(await s.take(['wake'], { timeoutMs: 1_000, signal: never, max: 1 })).toHaveLength(1);
  });

  it('prefixes every key and channel with global_keyprefix', async () => {
    const t = await transport({ global_keyprefix: 'pfx:' });
    await t.declare({ name: 'pq' });
    await t.publish(msg('x', 3), { exchange: '', routingKey: 'pq' });
    expect((await raw.keys('*')).sort()).toEqual(['pfx:_kombu.binding.pq', `pfx:pq${SEP}3`]);
    const s = store({ global_keyprefix: 'pfx:' });
    const [m] = await s.take(['pq'], { timeoutMs: 0, signal: never, max: 1 });
    expect(m!.queue).toBe('pq');
    expect((await raw.keys('*')).sort()).toEqual(['pfx:_kombu.binding.pq', 'pfx:unacked', 'pfx:unacked_index']);
    await s.requeue(m!.tag);
    expect(await raw.llen(`pfx:pq${SEP}3`)).toBe(1);

    const sub = new Redis(brokerUrl);
    try {
      const seen = new Promise<string>((resolve) => sub.on('pmessage', (_p, channel) => resolve(channel)));
      await sub.psubscribe('*');
      await s.broadcast.publish('celery.pidbox', 'hello');
      expect(await seen).toBe('pfx:/12.celery.pidbox');
    } finally {
      sub.disconnect();
    }
  });

  it('broadcasts on /<db>.<exchange>[/<routing key>], and a listener receives both forms', async () => {
    const s = store();
    const sub = new Redis(brokerUrl);
    const channels: string[] = [];
    const received: string[] = [];
    try {
      sub.on('pmessage', (_p, channel) => channels.push(channel));
      await sub.psubscribe('/12.*');
      const stop = await s.broadcast.listen('celeryev', (m) => received.push(m));
      await s.broadcast.listen('celeryev2', (m) => received.push(`wrong ${m}`));
      await s.broadcast.publish('celeryev/task.succeeded', 'a');
      await s.broadcast.publish('celeryev', 'b');
      await new Promise((r) => setTimeout(r, 100));
      expect(channels.sort()).toEqual(['/12.celeryev', '/12.celeryev/task.succeeded']);
      expect(received.sort()).toEqual(['a', 'b']);
      await stop();
      await s.broadcast.publish('celeryev', 'c');
      await new Promise((r) => setTimeout(r, 100));
      expect(received.sort()).toEqual(['a', 'b']);
    } finally {
      sub.disconnect();
    }
  });

  it('purge deletes every priority list and counts the messages', async () => {
    const s = store();
    for (const p of [0, 3, 9, 9]) await s.put('pg', envelope('x', 'pg', p), p);
    expect(await s.purge('pg')).toBe(4);
    expect(await raw.keys('pg*')).toEqual([]);
  });
});

describe('redis result backend: key layout', () => {
  it('writes celery-task-meta-<id> with SETEX and PUBLISHes the same bytes on the key channel', async () => {
    const backend = await openBackend({ url: resultUrl, serializer: 'json', options: {}, extended: false, expiresMs: 86_400_000 });
    const sub = new Redis(resultUrl);
    try {
      const id = randomUUID();
      const key = `celery-task-meta-${id}`;
      const published = new Promise<string>((resolve) => sub.on('message', (_c, m) => resolve(m)));
      await sub.subscribe(key);
      await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 5 }));
      const stored = await rawResults.get(key);
      expect(JSON.parse(stored!)).toMatchObject({ status: 'SUCCESS', result: 5, task_id: id });
      expect(await published).toBe(stored);
      const ttl = await rawResults.ttl(key);
      expect(ttl).toBeGreaterThan(86_390);
      expect(ttl).toBeLessThanOrEqual(86_400);
      // A waiting client is pushed the result.
      const id2 = randomUUID();
      const waiting = backend.waitFor(id2, { timeoutMs: 5_000, intervalMs: 10_000 });
      await new Promise((r) => setTimeout(r, 50));
      const writer = await openBackend({ url: resultUrl, serializer: 'json', options: {}, extended: false });
      await writer.store(id2, buildResultMeta({ taskId: id2, status: 'SUCCESS', result: 'pushed' }));
      expect((await waiting).result).toBe('pushed');
      expect(await rawResults.ttl(`celery-task-meta-${id2}`)).toBe(-1);
      await writer.close();
    } finally {
      sub.disconnect();
      await backend.close();
    }
  });

  it('keeps chord parts in celery-taskset-meta-<gid>.j with the .s size, and prefixes keys with global_keyprefix', async () => {
    const backend = await openBackend({ url: resultUrl, serializer: 'json', options: { global_keyprefix: 'rp:' }, extended: false });
    try {
      const gid = randomUUID();
      await backend.setChordSize(gid, 2);
      expect(await rawResults.get(`rp:celery-taskset-meta-${gid}.s`)).toBe('2');
      expect(await backend.addChordPart(gid, { index: 1, taskId: 'b', state: 'SUCCESS', result: 2 })).toBeNull();
      const members = await rawResults.zrange(`rp:celery-taskset-meta-${gid}.j`, 0, -1, 'WITHSCORES');
      expect(JSON.parse(members[0]!)).toEqual([1, 'b', 'SUCCESS', 2]);
      expect(members[1]).toBe('1');
      const ttl = await rawResults.ttl(`rp:celery-taskset-meta-${gid}.j`);
      expect(ttl).toBeGreaterThan(86_000);
      const parts = await backend.addChordPart(gid, { index: 0, taskId: 'a', state: 'SUCCESS', result: 1 });
      expect(parts?.map((p) => p.taskId)).toEqual(['a', 'b']);
      expect(await rawResults.keys(`rp:celery-taskset-meta-${gid}*`)).toEqual([]);
    } finally {
      await backend.close();
    }
  });
});

describe('redis authentication (private servers)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis({ password: 's3cret-pw' });
    const admin = new Redis({ port: server.port, host: '127.0.0.1', password: 's3cret-pw' });
    await admin.call('ACL', 'SETUSER', 'alice', 'on', '>alice-pw', '~*', '&*', '+@all');
    await admin.quit();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('connects with a password URL and with an ACL user, and fails clearly (no password in the message) otherwise', async () => {
    const withPassword = await transport({}, `redis://:s3cret-pw@127.0.0.1:${server.port}/3`);
    expect(withPassword.displayUrl).toBe(`redis://:**@127.0.0.1:${server.port}/3`);
    await withPassword.publish(msg('auth'), { exchange: '', routingKey: 'authq' });
    expect(await withPassword.size('authq')).toBe(1);

    const acl = await transport({}, `redis://alice:alice-pw@127.0.0.1:${server.port}/3`);
    expect(await acl.size('authq')).toBe(1);

    const wrongUrl = `redis://alice:not-the-pw@127.0.0.1:${server.port}/3`;
    const wrong = await openTransport({ url: wrongUrl, transportOptions: { max_retries_per_request: 1 } });
    transports.push(wrong);
    const error = await wrong.connect().then(() => null, (e: unknown) => e as Error);
    expect(error).toBeInstanceOf(OperationalError);
    expect(error!.message).toContain(`127.0.0.1:${server.port}`);
    expect(error!.message).not.toContain('not-the-pw');

    const backend = await openBackend({ url: `redis://alice:alice-pw@127.0.0.1:${server.port}/4`, serializer: 'json', options: {}, extended: false });
    try {
      const id = randomUUID();
      await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 1 }));
      expect((await backend.get(id))?.result).toBe(1);
      expect(backend.displayUrl).not.toContain('alice-pw');
    } finally {
      await backend.close();
    }
  });
});

describe('redis TLS and unix sockets (private server)', () => {
  let server: RedisServer;
  let dir: string;
  let tlsPort: number;
  const openssl = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'celeriac-redis-tls-'));
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=celeriac-test-ca']);
    for (const [name, san] of [['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], ['client', 'extendedKeyUsage=clientAuth']] as const) {
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
      writeFileSync(join(dir, `${name}.ext`), `${san}\n`);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
    }
    tlsPort = await freePort();
    server = await startRedis({
      args: ['--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'server.pem'), '--tls-key-file', join(dir, 'server.key'),
        '--tls-ca-cert-file', join(dir, 'ca.pem'), '--tls-auth-clients', 'optional', '--unixsocket', join(dir, 'redis.sock'), '--unixsocketperm', '777'],
    });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects over rediss:// with a CA, a client certificate, or CERT_NONE, and refuses an unverified server', async () => {
    const ca = join(dir, 'ca.pem');
    const verified = await transport({}, `rediss://127.0.0.1:${tlsPort}/0?ssl_cert_reqs=CERT_REQUIRED&ssl_ca_certs=${encodeURIComponent(ca)}`);
    await verified.publish(msg('tls'), { exchange: '', routingKey: 'tlsq' });
    expect(await verified.size('tlsq')).toBe(1);

    const withClientCert = await openTransport({
      url: `redis://127.0.0.1:${tlsPort}/0`,
      transportOptions: {},
      ssl: { ssl_cert_reqs: 'required', ssl_ca_certs: ca, ssl_certfile: join(dir, 'client.pem'), ssl_keyfile: join(dir, 'client.key') },
    });
    transports.push(withClientCert);
    await withClientCert.connect();
    expect(await withClientCert.size('tlsq')).toBe(1);

    const unverified = await transport({}, `rediss://127.0.0.1:${tlsPort}/0?ssl_cert_reqs=CERT_NONE`);
    expect(await unverified.size('tlsq')).toBe(1);

    const refused = await openTransport({ url: `rediss://127.0.0.1:${tlsPort}/0`, transportOptions: { max_retries_per_request: 1 } });
    transports.push(refused);
    const error = await refused.connect().then(() => null, (e: unknown) => e as Error);
    expect(error).toBeInstanceOf(OperationalError);

    const backend = await openBackend({ url: `rediss://127.0.0.1:${tlsPort}/1?ssl_cert_reqs=required&ssl_ca_certs=${encodeURIComponent(ca)}`, serializer: 'json', options: {}, extended: false });
    try {
      const id = randomUUID();
      await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 'tls' }));
      expect((await backend.get(id))?.result).toBe('tls');
    } finally {
      await backend.close();
    }
  });

  it('connects over redis+socket:// with the database from ?virtual_host=', async () => {
    const t = await transport({}, `redis+socket://${join(dir, 'redis.sock')}?virtual_host=7`);
    await t.publish(msg('sock'), { exchange: '', routingKey: 'sockq' });
    const check = new Redis({ path: join(dir, 'redis.sock'), db: 7 });
    try {
      expect(await check.llen('sockq')).toBe(1);
    } finally {
      check.disconnect();
    }
  });
});

describe('redis connection options', () => {
  it('builds Sentinel options from a failover list and master_name, and requires master_name', () => {
    const config = redisConnectionConfig({ url: 'sentinel://:pw@s1:26379/2;sentinel://s2:26380', transportOptions: { master_name: 'mymaster', sentinel_kwargs: { password: 'spw' } } });
    expect(config.options).toMatchObject({ sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], name: 'mymaster', password: 'pw', db: 2, sentinelPassword: 'spw' });
    expect(config.db).toBe(2);
    expect(config.displayUrl).not.toContain(':pw@');
    expect(() => redisConnectionConfig({ url: 'sentinel://s1:26379' })).toThrow(/master_name/);
  });

  it('reads user, password and db from redis:// and rejects bad transport options', () => {
    const config = redisConnectionConfig({ url: 'redis://bob:p%40ss@h:7000/4' });
    expect(config.options).toMatchObject({ host: 'h', port: 7000, username: 'bob', password: 'p@ss', db: 4 });
    expect(config.displayUrl).toBe('redis://bob:**@h:7000/4');
    expect(() => store({ priority_steps: 'x' })).toThrow(/priority_steps/);
    expect(() => store({ queue_order_strategy: 'random' })).toThrow(/queue_order_strategy/);
  });
});
