// The dashboard's Flower REST API and /metrics over a real redis-server (a private one), with a celeriac worker:
// every reply has the shape Flower's API documents (flower/api/*.py docstrings; fields of celery.events.state.Task),
// actions reach the worker, and the metrics carry Flower's names and labels.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { createDashboard, TASK_FIELDS, type Dashboard } from '../../src/dashboard/index.js';
import { Worker } from '../../src/worker/worker.js';
import { startRedis, type RedisServer } from '../support/servers.js';

const HOST = 'dash@it';
let redis: RedisServer;
let worker: Worker;
let workerApp: Celery;
let app: Celery;
let dashboard: Dashboard;
let server: Server;
let base: string;
const AUTH = { authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` };

class ValueError extends Error {
  override name = 'ValueError';
}

function defineTasks(a: Celery): void {
  a.task((x: number, y: number) => x + y, { name: 'dash.add' });
  a.task((message: string) => {
    throw new ValueError(message);
  }, { name: 'dash.fail' });
}

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string') {
      init.body = body;
      (init.headers as Record<string, string>)['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
  }
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** Wait for a condition the cluster reaches by itself (events arriving); no assertion depends on how long it took. */
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 45_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const taskState = (id: string, state: string) => until(`${id} ${state}`, async () => {
  const r = await api('GET', `/api/task/info/${id}`);
  return r.status === 200 && r.json.state === state ? r.json : undefined;
});

beforeAll(async () => {
  redis = await startRedis();
  workerApp = new Celery('dash-worker', { broker: redis.url, backend: redis.url, worker_send_task_events: true, my_api_key: 'hunter2' });
  defineTasks(workerApp);
  worker = new Worker(workerApp, { banner: false, concurrency: 2, hostname: HOST, queues: ['dash'], loglevel: 'CRITICAL' });
  await worker.start();
  app = new Celery('dash', { broker: redis.url, backend: redis.url, task_default_queue: 'dash', task_queues: ['dash-parked'] });
  defineTasks(app);
  dashboard = createDashboard(app, { basicAuth: 'admin:s3cret', authToken: 'tok-123' });
  await dashboard.ready;
  server = createServer(dashboard);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 90_000);

afterAll(async () => {
  server?.close();
  await dashboard?.close();
  await worker?.stop('cold');
  await Promise.all([app?.close(), workerApp?.close()]);
  await redis?.stop();
});

describe('auth', () => {
  it('answers 401 without credentials or with wrong ones, and serves basic auth and the bearer token', async () => {
    const none = await api('GET', '/api/workers', undefined, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="flower"');
    expect((await api('GET', '/metrics', undefined, {})).status).toBe(401);
    expect((await api('GET', '/', undefined, {})).status).toBe(401);
    expect((await api('GET', '/api/workers', undefined, { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` })).status).toBe(401);
    expect((await api('GET', '/api/workers', undefined, { authorization: 'Bearer tok-1234' })).status).toBe(401);
    expect((await api('GET', '/api/workers', undefined, { authorization: 'Bearer tok-123' })).status).toBe(200);
    expect((await api('GET', '/api/workers')).status).toBe(200);
    expect((await api('GET', '/healthcheck', undefined, {})).text).toBe('OK');
  });
});

describe('workers', () => {
  it('GET /api/workers?refresh=1: Flower\'s per-worker inspect cache, conf censored', async () => {
    const r = await api('GET', '/api/workers?refresh=1');
    expect(r.status).toBe(200);
    const info = r.json[HOST];
    expect(Object.keys(info).sort()).toEqual(['active', 'active_queues', 'conf', 'registered', 'reserved', 'revoked', 'scheduled', 'stats', 'timestamp']);
    expect(info.registered).toEqual(expect.arrayContaining(['dash.add', 'dash.fail']));
    expect(info.active_queues.map((q: { name: string }) => q.name)).toEqual(['dash']);
    expect(info.stats).toMatchObject({ pid: expect.any(Number), pool: { 'max-concurrency': 2 }, broker: expect.any(Object) });
    expect(typeof info.timestamp).toBe('number');
    expect(JSON.stringify(info)).not.toContain('hunter2');
    const one = await api('GET', `/api/workers?workername=${encodeURIComponent(HOST)}`);
    expect(Object.keys(one.json)).toEqual([HOST]);
    expect((await api('GET', '/api/workers?workername=nobody@nowhere')).status).toBe(404);
  });

  it('?status=1 says which workers are alive (from heartbeats)', async () => {
    const r = await until('the worker alive', async () => {
      const s = await api('GET', '/api/workers?status=1');
      return s.json[HOST] === true ? s : undefined;
    });
    expect(r.json).toEqual({ [HOST]: true });
  });

  it('the page\'s worker rows join events and inspect replies; the page and its libraries are served', async () => {
    const rows = await until('an inspected row', async () => {
      const r = (await api('GET', '/api/dashboard/workers')).json as Array<Record<string, unknown>>;
      return r.find((w) => w.hostname === HOST && w.online === true && w.inspected !== null) ? r : undefined;
    });
    expect(rows.find((w) => w.hostname === HOST)).toMatchObject({ sw_ident: 'celeriac', concurrency: 2, queues: ['dash'], registered: expect.arrayContaining(['dash.add']) });
    const html = await api('GET', '/');
    expect(html.text).toContain('type="importmap"');
    for (const file of ['/static/app.js', '/static/app.css', '/static/vendor/preact.mjs', '/static/vendor/hooks.mjs', '/static/vendor/htm.mjs']) {
      expect((await api('GET', file)).status, file).toBe(200);
    }
    expect((await api('GET', '/static/../package.json')).status).toBe(404);
  });

  it('pool grow and shrink answer Flower\'s messages; an unknown worker is 404', async () => {
    const grow = await api('POST', `/api/worker/pool/grow/${HOST}?n=2`);
    expect(grow.json).toEqual({ message: `Growing '${HOST}' worker's pool by 2` });
    const shrink = await api('POST', `/api/worker/pool/shrink/${HOST}`);
    expect(shrink.json).toEqual({ message: `Shrinking '${HOST}' worker's pool by 1` });
    const stats = await api('GET', `/api/workers?refresh=1&workername=${encodeURIComponent(HOST)}`);
    expect(stats.json[HOST].stats.pool['max-concurrency']).toBe(3);
    const unknown = await api('POST', '/api/worker/pool/grow/nobody@nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toBe("Unknown worker 'nobody@nowhere'");
  });
});

describe('tasks', () => {
  it('async-apply sends; info, list and result follow the task with Flower\'s fields', async () => {
    const sent = await api('POST', '/api/task/async-apply/dash.add', { args: [2, 3] });
    expect(sent.status).toBe(200);
    expect(Object.keys(sent.json).sort()).toEqual(['state', 'task-id']);
    expect(sent.json.state).toBe('PENDING');
    const id = sent.json['task-id'] as string;
    const info = await taskState(id, 'SUCCESS');
    expect(Object.keys(info)).toEqual([...TASK_FIELDS]);
    expect(info).toMatchObject({ uuid: id, name: 'dash.add', args: '[2, 3]', kwargs: '{}', result: '5', worker: HOST, retries: 0 });
    for (const field of ['received', 'started', 'succeeded', 'timestamp', 'runtime']) expect(typeof info[field], field).toBe('number');
    const result = await api('GET', `/api/task/result/${id}`);
    expect(result.json).toEqual({ 'task-id': id, state: 'SUCCESS', result: 5 });
    const list = await api('GET', '/api/tasks?taskname=dash.add&limit=10');
    expect(list.json[id]).toEqual(info);
    expect((await api('GET', '/api/task/types')).json['task-types']).toContain('dash.add');
  });

  it('a failure has its exception, traceback, and Python\'s repr as the result', async () => {
    const id = (await api('POST', '/api/task/async-apply/dash.fail', { args: ['nope'] })).json['task-id'] as string;
    const info = await taskState(id, 'FAILURE');
    expect(info.exception).toBe("ValueError('nope')");
    const result = await api('GET', `/api/task/result/${id}?timeout=30`);
    expect(result.json).toMatchObject({ 'task-id': id, state: 'FAILURE', result: "ValueError('nope')", traceback: expect.stringContaining('ValueError') });
  });

  it('apply waits for the result; send-task sends any name; unknown tasks and options are refused', async () => {
    const applied = await api('POST', '/api/task/apply/dash.add', { args: [20, 22] });
    expect(applied.json).toMatchObject({ state: 'SUCCESS', result: 42, 'task-id': expect.any(String) });
    // Flower's own example: curl -d '{"args": [1, 2]}' sends JSON labelled as a form; Flower reads it as JSON.
    expect((await api('POST', '/api/task/apply/dash.add', '{"args": [1, 2]}')).json).toMatchObject({ state: 'SUCCESS', result: 3 });
    expect((await api('POST', '/api/task/async-apply/dash.nope', { args: [] })).status).toBe(404);
    expect((await api('POST', '/api/task/async-apply/dash.add', { args: 'x' })).status).toBe(400);
    expect((await api('POST', '/api/task/async-apply/dash.add', { args: [1, 1], frobnicate: true })).status).toBe(400);
    const parked = await api('POST', '/api/task/send-task/some.python.task', { args: [1], queue: 'dash-parked' });
    expect(parked.json).toEqual({ 'task-id': expect.any(String), state: 'PENDING' });
  });

  it('filters, sorts and pages the task list as Flower does', async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await api('POST', '/api/task/async-apply/dash.add', { args: [n, n] })).json['task-id']);
    for (const id of ids) await taskState(id, 'SUCCESS');
    const newest = await api('GET', '/api/tasks?taskname=dash.add&limit=2');
    expect(Object.keys(newest.json)).toEqual([ids[2], ids[1]]);
    const next = await api('GET', '/api/tasks?taskname=dash.add&limit=1&offset=2');
    expect(Object.keys(next.json)).toEqual([ids[0]]);
    const failed = await api('GET', '/api/tasks?state=FAILURE');
    expect(Object.values(failed.json).map((t: any) => t.name)).toEqual(['dash.fail']);
    const byResult = await api('GET', '/api/tasks?search=result:6');
    expect(Object.keys(byResult.json)).toEqual([ids[2]]);
    const sorted = Object.values((await api('GET', '/api/tasks?sort_by=-received&workername=' + encodeURIComponent(HOST))).json).map((t: any) => t.received);
    expect(sorted).toEqual([...sorted].sort((a, b) => b - a));
    expect((await api('GET', '/api/tasks?sort_by=color')).status).toBe(400);
    expect((await api('GET', '/api/task/info/no-such-id')).status).toBe(404);
  });

  it('revoke: the worker discards the task and the dashboard shows it REVOKED', async () => {
    const id = crypto.randomUUID();
    const r = await api('POST', `/api/task/revoke/${id}`);
    expect(r.json).toEqual({ message: `Revoked '${id}'` });
    await app.sendTask('dash.add', [1, 1], {}, { taskId: id, queue: 'dash' });
    await taskState(id, 'REVOKED');
    expect((await api('GET', `/api/task/result/${id}`)).json).toMatchObject({ 'task-id': id, state: 'REVOKED' });
  });

  it('rate limit and time limits reach the worker (form-encoded, as Flower posts them)', async () => {
    const rate = await api('POST', '/api/task/rate-limit/dash.add', `ratelimit=100/m&workername=${encodeURIComponent(HOST)}`);
    expect(rate.json).toEqual({ message: 'new rate limit set successfully' });
    const limits = await api('POST', '/api/task/timeout/dash.add', `soft=10&hard=20&workername=${encodeURIComponent(HOST)}`);
    expect(limits.json).toEqual({ message: 'time limits set successfully' });
    expect((await api('POST', '/api/task/rate-limit/dash.nope', 'ratelimit=1/s')).status).toBe(404);
  });

  it('queue lengths: the workers\' queues and the configured ones, with their message counts', async () => {
    const r = await api('GET', '/api/queues/length');
    expect(r.json).toEqual({ active_queues: [{ name: 'dash', messages: 0 }, { name: 'dash-parked', messages: 1 }] });
  });
});

describe('metrics', () => {
  it('GET /metrics has Flower\'s metric names and labels', async () => {
    const text = (await api('GET', '/metrics')).text;
    expect(text).toMatch(new RegExp(`flower_events_total\\{worker="${HOST}",type="task-succeeded",task="dash.add"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`flower_task_runtime_seconds_count\\{worker="${HOST}",task="dash.add"\\} [1-9]`));
    expect(text).toContain('flower_task_runtime_seconds_bucket{le="0.005",worker="dash@it",task="dash.add"}');
    expect(text).toContain(`flower_worker_online{worker="${HOST}"} 1`);
    expect(text).toMatch(new RegExp(`flower_task_prefetch_time_seconds\\{worker="${HOST}",task="dash.add"\\} 0`));
    expect(text).toMatch(new RegExp(`flower_worker_prefetched_tasks\\{worker="${HOST}",task="dash.add"\\} 0`));
    expect(text).toContain('# TYPE flower_worker_number_of_currently_executing_tasks gauge');
  });
});

describe('shutdown', () => {
  it('POST /api/worker/shutdown stops the worker; it goes offline in the API and the metrics', async () => {
    expect((await api('POST', `/api/worker/shutdown/${HOST}`)).json).toEqual({ message: 'Shutting down!' });
    await until('the worker offline', async () => (await api('GET', '/api/workers?status=1')).json[HOST] === false);
    expect((await api('GET', '/metrics')).text).toContain(`flower_worker_online{worker="${HOST}"} 0`);
  });
});
