import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Celery } from '../../../src/index.js';
import { Worker } from '../../../src/worker/worker.js';
import { RemoteTaskError } from '../../../src/errors.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(options: ConstructorParameters<typeof Worker>[1] = {}, settings: Record<string, unknown> = {}) {
  const ns = randomUUID();
  const app = new Celery('tasks', { broker: `memory://${ns}`, backend: `memory://${ns}`, ...settings });
  const client = new Celery('tasks', { broker: `memory://${ns}`, backend: `memory://${ns}`, ...settings });
  cleanup.push(() => client.close());
  return {
    app,
    client,
    async start() {
      const worker = new Worker(app, { banner: false, concurrency: 2, ...options });
      await worker.start();
      cleanup.push(() => worker.stop('cold'));
      return worker;
    },
  };
}

async function pushRaw(client: Celery, queue: string, message: { body: Uint8Array | string; contentType: string; headers: Record<string, unknown> }) {
  const transport = await client.getTransport();
  const body = typeof message.body === 'string' ? Buffer.from(message.body) : message.body;
  await transport.publish({ body, contentType: message.contentType, contentEncoding: 'utf-8', headers: message.headers, properties: {} }, { exchange: '', routingKey: queue });
}

describe('worker: bad input never stops it', () => {
  it('unknown task → FAILURE NotRegistered, next task still runs', async () => {
    const { app, client, start } = await setup();
    app.task((x: number) => x + 1, { name: 'tasks.inc' });
    await start();
    const r = await client.sendTask('tasks.nope', [1]);
    const err = (await r.get({ timeout: 5, propagate: false })) as RemoteTaskError;
    expect(err.excType).toBe('NotRegistered');
    expect(err.excModule).toBe('celery.exceptions');
    expect(await (await client.sendTask('tasks.inc', [1])).get({ timeout: 5 })).toBe(2);
  });

  it('a body that is not [args, kwargs, embed] → FAILURE for that id; refused content types store nothing', async () => {
    const { app, client, start } = await setup();
    app.task((x: number) => x + 1, { name: 'tasks.inc' });
    await start();
    await pushRaw(client, 'celery', { body: '[[5, 5], {}]', contentType: 'application/json', headers: { task: 'tasks.inc', id: 'bad-body' } });
    const err = (await client.AsyncResult('bad-body').get({ timeout: 5, propagate: false })) as RemoteTaskError;
    expect(err.excType).toBe('DecodeError');
    expect(err.message).toMatch(/3-element array/);
    await pushRaw(client, 'celery', { body: 'x', contentType: 'application/x-python-serialize', headers: { task: 'tasks.inc', id: 'pickled' } });
    await pushRaw(client, 'celery', { body: '- 1', contentType: 'application/x-yaml', headers: { task: 'tasks.inc', id: 'yaml-not-accepted' } });
    expect(await (await client.sendTask('tasks.inc', [41])).get({ timeout: 5 })).toBe(42);
    expect(await client.AsyncResult('pickled').state()).toBe('PENDING');
    expect(await client.AsyncResult('yaml-not-accepted').state()).toBe('PENDING');
  });

  it('expired tasks are not run and are REVOKED', async () => {
    const { app, client, start } = await setup();
    let ran = false;
    app.task(() => (ran = true), { name: 'tasks.late' });
    await start();
    const r = await client.sendTask('tasks.late', [], {}, { expires: new Date(Date.now() - 1000) });
    const err = (await r.get({ timeout: 5, propagate: false })) as RemoteTaskError;
    expect(err.excType).toBe('TaskRevokedError');
    expect(await r.state()).toBe('REVOKED');
    expect(ran).toBe(false);
  });

  it('revoked ids are discarded with REVOKED', async () => {
    const { app, client, start } = await setup();
    app.task(() => 'ran', { name: 'tasks.x' });
    const worker = await start();
    worker.revoke('revoked-id');
    const r = await client.sendTask('tasks.x', [], {}, { taskId: 'revoked-id' });
    expect(await r.get({ timeout: 5, propagate: false })).toBeInstanceOf(RemoteTaskError);
    expect(await r.state()).toBe('REVOKED');
  });
});

describe('worker: delivery', () => {
  it('holds countdown tasks until their ETA', async () => {
    const { app, client, start } = await setup();
    app.task(() => Date.now(), { name: 'tasks.now' });
    await start();
    const sent = Date.now();
    const ranAt = (await (await client.sendTask('tasks.now', [], {}, { countdown: 0.5 })).get({ timeout: 5 })) as number;
    expect(ranAt - sent).toBeGreaterThanOrEqual(450);
  });

  it('runs at most `concurrency` tasks at once', async () => {
    const { app, client, start } = await setup({ concurrency: 3 });
    let running = 0;
    let peak = 0;
    app.task(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
    }, { name: 'tasks.busy' });
    await start();
    const results = await Promise.all(Array.from({ length: 12 }, () => client.sendTask('tasks.busy')));
    await Promise.all(results.map((r) => r.get({ timeout: 5 })));
    expect(peak).toBe(3);
  });

  it('rate limits as Celery\'s one-token bucket: at 10/s, 13 tasks sent at once start in order over more than a second', async () => {
    const { app, client, start } = await setup({ concurrency: 4 });
    const starts: Array<[number, number]> = [];
    app.task((i: number) => starts.push([i, Date.now()]), { name: 'tasks.limited', rateLimit: '10/s' });
    app.task(() => 'free', { name: 'tasks.free' });
    await start();
    const rs = [];
    for (let i = 0; i < 13; i++) rs.push(await client.sendTask('tasks.limited', [i]), await client.sendTask('tasks.free'));
    await Promise.all(rs.map((r) => r.get({ timeout: 20 })));
    expect(starts.map(([i]) => i)).toEqual([...Array(13).keys()]);
    // One token at once, then one per 100 ms: 12 waits of 100 ms (a bucket holding 10 would finish in ~300 ms).
    expect(starts[12]![1] - starts[0]![1]).toBeGreaterThanOrEqual(1000);
  });

  it('a rate limit changed at run time frees the tasks waiting under the old one', async () => {
    const { app, client, start } = await setup({ concurrency: 2 });
    app.task((i: number) => i, { name: 'tasks.slow', rateLimit: '1/h' });
    const worker = await start();
    const rs = await Promise.all([0, 1, 2].map((i) => client.sendTask('tasks.slow', [i])));
    expect(await rs[0]!.get({ timeout: 10 })).toBe(0);
    worker.setRateLimit('tasks.slow', null);
    expect(worker.limiter.limitOf('tasks.slow')).toBeNull();
    expect(await Promise.all(rs.slice(1).map((r) => r.get({ timeout: 10 })))).toEqual([1, 2]);
  });

  it('acks_late tasks return to the queue on a cold stop mid-run and run again elsewhere', async () => {
    const ns = randomUUID();
    const mk = () => new Celery('tasks', { broker: `memory://${ns}`, backend: `memory://${ns}` });
    const a = mk();
    let firstStarted!: () => void;
    const started = new Promise<void>((r) => (firstStarted = r));
    a.task(async () => {
      firstStarted();
      await new Promise((r) => setTimeout(r, 10_000));
    }, { name: 'tasks.long', acksLate: true });
    const w1 = new Worker(a, { banner: false, concurrency: 1 });
    await w1.start();
    const client = mk();
    cleanup.push(() => client.close());
    const r = await client.sendTask('tasks.long');
    await started;
    await w1.stop('cold');
    const b = mk();
    b.task(() => 'second worker', { name: 'tasks.long', acksLate: true });
    const w2 = new Worker(b, { banner: false, concurrency: 1 });
    await w2.start();
    cleanup.push(() => w2.stop('cold'));
    expect(await r.get({ timeout: 5 })).toBe('second worker');
  });

  it('hard time limit fails the task with TimeLimitExceeded; soft limit aborts the signal', async () => {
    const { app, client, start } = await setup();
    app.task(() => new Promise(() => undefined), { name: 'tasks.hang', timeLimit: 0.2 });
    app.task(function soft(self) {
      return new Promise((resolve) => self.signal.addEventListener('abort', () => resolve(`aborted: ${(self.signal.reason as Error).name}`)));
    }, { name: 'tasks.soft', bind: true, softTimeLimit: 0.1 });
    await start();
    const err = (await (await client.sendTask('tasks.hang')).get({ timeout: 5, propagate: false })) as RemoteTaskError;
    expect(err.excType).toBe('TimeLimitExceeded');
    expect(await (await client.sendTask('tasks.soft')).get({ timeout: 5 })).toBe('aborted: SoftTimeLimitExceeded');
  });

  it('task_track_started stores STARTED while running', async () => {
    const { app, client, start } = await setup({}, { task_track_started: true });
    let release!: () => void;
    app.task(() => new Promise<string>((r) => (release = () => r('done'))), { name: 'tasks.wait' });
    await start();
    const r = await client.sendTask('tasks.wait');
    for (let i = 0; i < 100 && (await r.state()) !== 'STARTED'; i++) await new Promise((res) => setTimeout(res, 20));
    expect(await r.state()).toBe('STARTED');
    release();
    expect(await r.get({ timeout: 5 })).toBe('done');
  });

  it('runs chain steps from embed.chain and link callbacks', async () => {
    const { app, client, start } = await setup();
    const add = app.task((x: number, y: number) => x + y, { name: 'tasks.add' });
    const mul = app.task((x: number, y: number) => x * y, { name: 'tasks.mul' });
    await start();
    const lastId = randomUUID();
    // chain(add.s(1, 2), add.s(3), mul.s(10)) as Python sends it: the next step is the LAST element (REDIS-WIRE.md §7.1).
    const chain = [mul.s(10).set({ task_id: lastId }).toDict(), add.s(3).toDict()];
    await client.sendTask('tasks.add', [1, 2], {}, { chain });
    expect(await client.AsyncResult(lastId).get({ timeout: 5 })).toBe(60);
    const linked = await add.applyAsync([1, 1], {}, { link: mul.s(100) });
    await linked.get({ timeout: 5 });
    const [child] = await linked.children();
    expect(await client.AsyncResult(child!.id).get({ timeout: 5 })).toBe(200);
  });
});
