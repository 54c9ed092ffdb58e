// The worker's remote-control commands end to end on the memory broker: app.control → pidbox → handler → reply.
// Shapes against Python's are checked in tests/interop/python-tools-*.test.ts; here, what each command does.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Celery } from '../../../src/index.js';
import { Worker } from '../../../src/worker/worker.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const NODE = 'w1@unit';

async function setup(options: ConstructorParameters<typeof Worker>[1] = {}, settings: Record<string, unknown> = {}) {
  const ns = randomUUID();
  const app = new Celery('tasks', { broker: `memory://${ns}`, backend: `memory://${ns}`, ...settings });
  const client = new Celery('tasks', { broker: `memory://${ns}`, backend: `memory://${ns}`, ...settings });
  cleanup.push(() => client.close());
  app.task((x: number, y: number) => x + y, { name: 'tasks.add', rateLimit: '100/s' });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  app.task(async (signal?: unknown) => {
    await gate;
    return signal ?? null;
  }, { name: 'tasks.wait' });
  app.task(function stamps(self) {
    return { stamped_headers: self.request.stamped_headers ?? null, stamps: self.request.stamps ?? null };
  }, { name: 'tasks.stamps', bind: true });
  const worker = new Worker(app, { banner: false, concurrency: 2, hostname: NODE, ...options });
  await worker.start();
  cleanup.push(() => worker.stop('cold'));
  cleanup.push(async () => release());
  const ask = async <T = any>(method: string, args: Record<string, unknown> = {}) => (await client.control.broadcast<T>(method, args, { destination: [NODE], timeoutMs: 2000 }))[NODE] as T;
  return { app, client, worker, ask, release };
}

describe('inspect commands', () => {
  it('ping, clock, stats, conf, report, memsample, memdump, objgraph answer; aliases too', async () => {
    const { ask } = await setup();
    expect(await ask('ping')).toEqual({ ok: 'pong' });
    expect((await ask('clock')).clock).toBeGreaterThan(0);
    const stats = await ask('stats');
    expect(Object.keys(stats).sort()).toEqual(['broker', 'clock', 'pid', 'pool', 'prefetch_count', 'rusage', 'total', 'uptime']);
    expect(stats.pool).toEqual({ 'max-concurrency': 2, 'free-threads': 2, 'running-threads': 0 });
    expect(Object.keys(stats.rusage)).toHaveLength(16);
    expect(await ask('conf')).toMatchObject({ broker_url: expect.stringMatching(/^memory:/) });
    expect((await ask('report')).ok).toMatch(/software -> celeriac:/);
    expect(await ask('memsample')).toMatch(/^[\d.]+(MB|KB|GB|b)$/);
    expect(await ask('memdump')).toMatch(/- rss \(sample\):\n-    > [\d.]+MB,\n- rss \(end\): [\d.]+MB\.\n$/);
    expect((await ask('objgraph')).error).toMatch(/not supported in Node/);
    expect(await ask('dump_conf')).toEqual(await ask('conf'));
    expect(await ask('no_such_thing')).toEqual({ error: 'No such control command: no_such_thing' });
  });

  it('registered shows rate limits (task option, then run-time rate_limit) and hides celery.* unless builtins', async () => {
    const { ask } = await setup();
    expect(await ask('registered')).toEqual(['tasks.add [rate_limit=100/s]', 'tasks.stamps', 'tasks.wait']);
    expect(await ask('rate_limit', { task_name: 'tasks.add', rate_limit: '5/m' })).toEqual({ ok: 'new rate limit set successfully' });
    expect(await ask('registered', { taskinfoitems: ['rate_limit'] })).toContain('tasks.add [rate_limit=5/m]');
    expect(await ask('rate_limit', { task_name: 'tasks.add', rate_limit: 'fast' })).toEqual({ error: expect.stringMatching(/^Invalid rate limit string: /) });
    expect(await ask('rate_limit', { task_name: 'nope', rate_limit: '1/s' })).toEqual({ error: 'unknown task' });
    expect(await ask('time_limit', { task_name: 'tasks.add', soft: 1, hard: 2 })).toEqual({ ok: 'time limits set successfully' });
    expect(await ask('time_limit', { task_name: 'tasks.add', soft: -1 })).toEqual({ error: expect.stringMatching(/Invalid time limits/) });
  });

  it('active, reserved, scheduled, query_task and revoked follow the tasks', async () => {
    const { client, ask, release } = await setup();
    const a = await client.sendTask('tasks.wait', [1]);
    const b = await client.sendTask('tasks.wait', [2]);
    const c = await client.sendTask('tasks.wait', [3]);
    const eta = await client.sendTask('tasks.add', [1, 1], {}, { countdown: 60 });
    await waitFor(async () => (await ask<unknown[]>('active')).length === 2 && (await ask<unknown[]>('reserved')).length === 1);
    const active = await ask<Array<Record<string, any>>>('active');
    expect(active[0]).toMatchObject({ name: 'tasks.wait', hostname: NODE, acknowledged: true, worker_pid: process.pid, delivery_info: { exchange: '', routing_key: 'celery', priority: 0 } });
    expect((await ask<Array<Record<string, any>>>('active', { safe: true }))[0]!.args).toMatch(/^\[\d\]$/);
    expect(await ask('scheduled')).toEqual([expect.objectContaining({ priority: 6, eta: expect.any(String), request: expect.objectContaining({ id: eta.id, time_start: null }) })]);
    const states = await ask<Record<string, [string, unknown]>>('query_task', { ids: [a.id, b.id, c.id, 'unknown'] });
    expect(Object.values(states).map(([s]) => s).sort()).toEqual(['active', 'active', 'reserved']);
    expect(await ask('revoke', { task_id: [eta.id] })).toEqual({ ok: `tasks ${eta.id} flagged as revoked` });
    expect(await ask('revoked')).toEqual([eta.id]);
    release();
    expect(await c.get({ timeout: 5000 })).toBe(3);
  });

  it('hello (mingle) merges the sender\'s revoked ids and answers with ours as [float, id] and a clock', async () => {
    const { ask } = await setup();
    // Stamps on the sender's monotonic clock (machine uptime in seconds), a minute ago: not yet expired.
    const mono = Number(process.hrtime.bigint()) / 1e9;
    const reply = await ask('hello', { from_node: 'py@other', revoked: { 'theirs-1': mono - 60.5, 'theirs-2': [mono - 59.5, 'theirs-2'] } });
    expect(Object.keys(reply.revoked).sort()).toEqual(['theirs-1', 'theirs-2']);
    for (const [at, id] of Object.values(reply.revoked) as Array<[number, string]>) {
      expect(Number.isInteger(at)).toBe(false);
      expect(typeof id).toBe('string');
    }
    expect(typeof reply.clock).toBe('number');
    expect(await ask('hello', { from_node: NODE })).toBeNull();
  });
});

describe('control commands', () => {
  it('terminate stops a running task (REVOKED) and says which', async () => {
    const { client, ask } = await setup();
    const r = await client.sendTask('tasks.wait', []);
    await waitFor(async () => (await ask<unknown[]>('active')).length === 1);
    expect(await ask('terminate', { task_id: r.id, signal: 'SIGKILL' })).toEqual({ ok: `terminate: ${r.id}` });
    expect(await ask('terminate', { task_id: 'unknown', signal: 'SIGKILL' })).toEqual({ ok: 'terminate: tasks unknown' });
    expect(await r.state()).toBe('REVOKED');
  });

  it('revoke_by_stamped_headers discards stamped tasks and terminates running ones', async () => {
    const { client, ask } = await setup();
    const stamped = (mon: unknown) => ({ stampedHeaders: ['mon'], stamps: { mon } });
    expect(await (await client.sendTask('tasks.stamps', [], {}, stamped('v1'))).get({ timeout: 5000 })).toEqual({ stamped_headers: ['mon'], stamps: { mon: 'v1' } });
    expect(await ask('revoke_by_stamped_headers', { headers: { mon: ['r1'] }, terminate: false })).toEqual({ ok: "headers {'mon': ['r1']} flagged as revoked, but not terminated" });
    const discarded = await client.sendTask('tasks.stamps', [], {}, stamped('r1'));
    await waitFor(async () => (await discarded.state()) === 'REVOKED');
    const list = await client.sendTask('tasks.stamps', [], {}, stamped(['x', 'r1']));
    await waitFor(async () => (await list.state()) === 'REVOKED');
    const running = await client.sendTask('tasks.wait', [], {}, stamped('r2'));
    await waitFor(async () => (await ask<unknown[]>('active')).length === 1);
    expect(await ask('revoke_by_stamped_headers', { headers: ['mon=r2'], terminate: true })).toEqual({ ok: "headers {'mon': ['r2']} revoked" });
    await waitFor(async () => (await running.state()) === 'REVOKED');
    expect(await ask('revoke_by_stamped_headers', { headers: { mon: 'r3' }, terminate: true })).toEqual({ ok: "headers {'mon': 'r3'} were not terminated" });
  });

  it('add_consumer and cancel_consumer change what is consumed', async () => {
    const { client, ask } = await setup();
    expect(await ask('add_consumer', { queue: 'extra' })).toEqual({ ok: 'add consumer extra' });
    expect((await ask<Array<{ name: string }>>('active_queues')).map((q) => q.name)).toEqual(['celery', 'extra']);
    expect(await (await client.sendTask('tasks.add', [2, 3], {}, { queue: 'extra' })).get({ timeout: 5000 })).toBe(5);
    expect(await ask('cancel_consumer', { queue: 'celery' })).toEqual({ ok: 'no longer consuming from celery' });
    expect((await ask<Array<{ name: string }>>('active_queues')).map((q) => q.name)).toEqual(['extra']);
    const parked = await client.sendTask('tasks.add', [1, 1]);
    expect(await parked.state()).toBe('PENDING');
    await ask('add_consumer', { queue: 'celery' });
    expect(await parked.get({ timeout: 5000 })).toBe(2);
  });

  it('pool_grow/pool_shrink resize the async pool; solo cannot; autoscale and pool_restart say why not', async () => {
    const { ask } = await setup();
    expect(await ask('pool_grow', { n: 2 })).toEqual({ ok: 'pool will grow' });
    expect((await ask('stats')).pool['max-concurrency']).toBe(4);
    expect(await ask('pool_shrink', { n: 1 })).toEqual({ ok: 'pool will shrink' });
    expect((await ask('stats')).pool['max-concurrency']).toBe(3);
    expect(await ask('pool_grow', { n: 0 })).toEqual({ error: expect.stringMatching(/whole number/) });
    expect(await ask('autoscale', { max: 4, min: 1 })).toEqual({ error: expect.stringMatching(/Autoscale not enabled/) });
    expect(await ask('pool_restart')).toEqual({ error: expect.stringMatching(/Pool restarts not enabled/) });
    const solo = await setup({ pool: 'solo', hostname: 'solo@unit' }, { worker_pool_restarts: true });
    const soloReply = (await solo.client.control.broadcast('pool_grow', { n: 1 }, { destination: ['solo@unit'], timeoutMs: 2000 }))['solo@unit'];
    expect(soloReply).toEqual({ error: expect.stringMatching(/solo pool/) });
    const restart = (await solo.client.control.broadcast('pool_restart', {}, { destination: ['solo@unit'], timeoutMs: 2000 }))['solo@unit'];
    expect(restart).toEqual({ error: expect.stringMatching(/threads or prefork/) });
  });

  it('enable_events/disable_events switch task events; heartbeat and election answer null', async () => {
    const { ask } = await setup();
    expect(await ask('enable_events')).toEqual({ ok: 'task events enabled' });
    expect(await ask('enable_events')).toEqual({ ok: 'task events already enabled' });
    expect(await ask('disable_events')).toEqual({ ok: 'task events disabled' });
    expect(await ask('disable_events')).toEqual({ ok: 'task events already disabled' });
    expect(await ask('heartbeat')).toBeNull();
    expect(await ask('election', { id: 'e', topic: 't' })).toBeNull();
  });

  it('only the workers a request names (or matches by glob) answer', async () => {
    const { client } = await setup();
    expect(Object.keys(await client.control.broadcast('ping', {}, { destination: ['other@unit'], timeoutMs: 300 }))).toEqual([]);
    expect(Object.keys(await client.control.broadcast('ping', {}, { pattern: 'w?@un*', timeoutMs: 2000, limit: 1 }))).toEqual([NODE]);
    expect(Object.keys(await client.control.broadcast('ping', {}, { pattern: 'x*', timeoutMs: 300 }))).toEqual([]);
  });

  it('shutdown sends no reply (as Python) and stops the worker', async () => {
    const { client, worker } = await setup();
    expect(await client.control.broadcast('shutdown', {}, { destination: [NODE], timeoutMs: 500 })).toEqual({});
    await worker.done;
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
