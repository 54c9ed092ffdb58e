import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { Celery, sharedTask, Task, type AsyncResult } from '../../../src/index.js';
import { NotRegistered, RemoteTaskError, TimeoutError, ImproperlyConfigured } from '../../../src/errors.js';
import { Worker } from '../../../src/worker/worker.js';

const apps: Celery[] = [];
function makeApp(main = 'tasks', extra: Record<string, unknown> = {}): Celery {
  const ns = randomUUID();
  const app = new Celery(main, { broker: `memory://${ns}`, backend: `memory://${ns}`, ...extra });
  apps.push(app);
  return app;
}
const workers: Worker[] = [];
async function startWorker(app: Celery, options: ConstructorParameters<typeof Worker>[1] = {}): Promise<Worker> {
  const w = new Worker(app, { banner: false, concurrency: 4, ...options });
  await w.start();
  workers.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('cold')));
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('the app', () => {
  it('runs the issue example: delay then get', async () => {
    const app = makeApp();
    const add = app.task((x: number, y: number) => x + y, { name: 'tasks.add' });
    await startWorker(app);
    const r = await add.delay(3, 4);
    expect(await r.get({ timeout: 5 })).toBe(7);
    expect(await r.state()).toBe('SUCCESS');
    expect(await r.ready()).toBe(true);
    expect(await r.successful()).toBe(true);
    expect(await r.dateDone()).toBeInstanceOf(Date);
  });

  it('infers task argument and result types', () => {
    const app = makeApp();
    const add = app.task((x: number, y: number) => x + y, { name: 'tasks.add' });
    expectTypeOf(add.delay).parameters.toEqualTypeOf<[number, number]>();
    expectTypeOf(add.delay(1, 2)).resolves.toEqualTypeOf<AsyncResult<number>>();
    const greet = app.task(async (name: string) => `hi ${name}`, { name: 'tasks.greet' });
    expectTypeOf(greet.call).returns.resolves.toBeString();
  });

  it('names tasks <main>.<function> and finds them in app.tasks', () => {
    const app = makeApp('proj');
    function multiply(x: number, y: number) {
      return x * y;
    }
    const t = app.task(multiply);
    expect(t.name).toBe('proj.multiply');
    expect(app.tasks['proj.multiply']).toBe(t);
    expect(() => app.tasks.get('proj.multiplx')).toThrow(NotRegistered);
    expect(() => app.tasks.get('proj.multiplx')).toThrow(/did you mean 'proj.multiply'/);
    expect(() => app.task((x: number) => x)).toThrow(/has no name/);
  });

  it('keeps apps apart: different configs, different registries', () => {
    const a = makeApp('a', { task_default_queue: 'qa' });
    const b = makeApp('b');
    a.task(function only() {}, {});
    expect(a.conf.get('task_default_queue')).toBe('qa');
    expect(b.conf.get('task_default_queue')).toBe('celery');
    expect(b.tasks.has('a.only')).toBe(false);
  });

  it('passes the request context to bound tasks with every field Celery lists', async () => {
    const app = makeApp();
    const ctx = app.task(function ctx(self) {
      const { signal: _s, ...request } = self.request;
      return request;
    }, { name: 'tasks.ctx', bind: true });
    await startWorker(app, { hostname: 'w1@test' });
    const r = await ctx.applyAsync([], {}, { headers: { x_custom: 'hello' }, priority: 3 });
    const req = (await r.get({ timeout: 5 })) as Record<string, unknown>;
    for (const field of ['id', 'group', 'chord', 'args', 'kwargs', 'retries', 'is_eager', 'eta', 'expires', 'logfile', 'loglevel', 'hostname', 'delivery_info', 'called_directly', 'callbacks', 'errbacks', 'utc', 'headers', 'reply_to', 'correlation_id', 'root_id', 'parent_id', 'group_index', 'timelimit']) {
      expect(req, field).toHaveProperty(field);
    }
    expect(req).toMatchObject({ id: r.id, hostname: 'w1@test', is_eager: false, called_directly: false, retries: 0, root_id: r.id, parent_id: null, correlation_id: r.id, reply_to: app.oid, x_custom: 'hello' });
    expect(req.delivery_info).toMatchObject({ exchange: '', routing_key: 'celery', priority: 3 });
  });

  it('calls directly with called_directly, and runs eagerly with is_eager', async () => {
    const app = makeApp();
    const who = app.task(function who(self) {
      return { direct: self.request.called_directly, eager: self.request.is_eager };
    }, { name: 'tasks.who', bind: true });
    expect(await who.call()).toEqual({ direct: true, eager: false });
    const eager = await who.apply();
    expect(await eager.get()).toEqual({ direct: false, eager: true });
    app.conf.set('task_always_eager', true);
    expect(await (await who.delay()).get()).toEqual({ direct: false, eager: true });
  });

  it('fails a task given more positional arguments than one JavaScript call takes, saying to send a list', async () => {
    const app = makeApp();
    const count = app.task((...xs: unknown[]) => xs.length, { name: 'tasks.count' });
    expect(await (await count.apply(Array.from({ length: 1000 }, () => 0))).get()).toBe(1000);
    const tooMany = await count.apply(Array.from({ length: 200_000 }, () => 0));
    await expect(tooMany.get()).rejects.toThrow(/got 200000 positional arguments: a JavaScript function takes at most 65535\. Send a long list as one argument/);
  });

  it('rethrows failures as typed errors; propagate: false returns them; traceback is kept', async () => {
    const app = makeApp();
    const boom = app.task((m: string) => {
      throw new TypeError(m);
    }, { name: 'tasks.boom' });
    await startWorker(app);
    const r = await boom.delay('bad input');
    const error = await r.get({ timeout: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect((error as RemoteTaskError).excType).toBe('TypeError');
    expect((error as RemoteTaskError).excModule).toBe('builtins');
    expect((error as RemoteTaskError).excMessage).toEqual(['bad input']);
    expect(await r.get({ propagate: false })).toBeInstanceOf(RemoteTaskError);
    expect(await r.state()).toBe('FAILURE');
    expect(await r.failed()).toBe(true);
    expect(await r.traceback()).toMatch(/TypeError: bad input/);
  });

  it('reports PENDING for unknown ids and times out waiting', async () => {
    const app = makeApp();
    const r = app.AsyncResult('no-such-id');
    expect(await r.state()).toBe('PENDING');
    expect(await r.ready()).toBe(false);
    await expect(r.get({ timeout: 0.1, interval: 0.01 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it('sendTask sends by name; signatures send too; forget removes the result', async () => {
    const app = makeApp();
    app.task((x: number, y: number) => x * y, { name: 'tasks.mul' });
    await startWorker(app);
    const r = await app.sendTask<number>('tasks.mul', [6, 7]);
    expect(await r.get({ timeout: 5 })).toBe(42);
    const s = await app.signature('tasks.mul', [2], {}, {}).delay(5);
    expect(await s.get({ timeout: 5 })).toBe(10);
    await r.forget();
    expect(await app.AsyncResult(r.id).state()).toBe('PENDING');
  });

  it('retries with the same id and retries + 1, storing RETRY in between', async () => {
    const app = makeApp();
    const seen: number[] = [];
    const flaky = app.task(function flaky(self) {
      seen.push(self.request.retries);
      if (self.request.retries < 2) self.retry({ countdown: 0.05 });
      return self.request.retries;
    }, { name: 'tasks.flaky', bind: true });
    await startWorker(app);
    const r = await flaky.delay();
    expect(await r.get({ timeout: 5 })).toBe(2);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('gives up after maxRetries with the original error', async () => {
    const app = makeApp();
    const never = app.task(function never(self) {
      self.retry({ countdown: 0.01, exc: new RangeError('still broken'), maxRetries: 1 });
    }, { name: 'tasks.never', bind: true });
    await startWorker(app);
    const err = (await (await never.delay()).get({ timeout: 5, propagate: false })) as unknown as RemoteTaskError;
    expect(err.excType).toBe('RangeError');
  });

  it('autoretryFor with backoff retries matching errors', async () => {
    const app = makeApp();
    let calls = 0;
    class Flaky extends Error {}
    const t = app.task(() => {
      calls++;
      if (calls < 3) throw new Flaky('flaky');
      return calls;
    }, { name: 'tasks.auto', autoretryFor: [Flaky], retryBackoff: 0.01, retryJitter: false, maxRetries: 5 });
    await startWorker(app);
    expect(await (await t.delay()).get({ timeout: 5 })).toBe(3);
  });

  it('routes with task_routes and honours explicit queue options', async () => {
    const app = makeApp('tasks', { task_routes: { 'tasks.video.*': { queue: 'video' } } });
    const enc = app.task(function encode() {
      return 'ok';
    }, { name: 'tasks.video.encode' });
    await startWorker(app, { queues: ['video'] });
    expect(await (await enc.delay()).get({ timeout: 5 })).toBe('ok');
    const transport = await app.getTransport();
    await (await app.sendTask('tasks.video.encode', [], {}, { queue: 'elsewhere' })).id;
    expect(await transport.size('elsewhere')).toBe(1);
  });

  it('applies task_annotations as task options (snake_case → camelCase)', () => {
    const app = makeApp('tasks', { task_annotations: { 'tasks.add': { rate_limit: '10/m', acks_late: true } } });
    const add = app.task((x: number, y: number) => x + y, { name: 'tasks.add' });
    expect(add.options.rateLimit).toBe('10/m');
    expect(add.options.acksLate).toBe(true);
  });

  it('lays task_annotations over the decorator options, also when set after app.task() and before use (Celery 5.2.6)', () => {
    const app = makeApp('tasks');
    const x = app.task(() => 1, { name: 'tasks.x', rateLimit: '1/s' });
    app.conf.task_annotations = { 'tasks.x': { rate_limit: '5/s' }, '*': { time_limit: 3 } };
    expect(x.options.rateLimit).toBe('5/s');
    expect(x.options.timeLimit).toBe(3);
    app.conf.task_annotations = { 'tasks.x': { rate_limit: '20/s' } };
    expect(x.options.rateLimit).toBe('5/s');
  });

  it('uses a custom base class (base: and app.Task)', async () => {
    const app = makeApp();
    class DatabaseTask extends Task {
      private conn?: { query: () => string };
      get db() {
        return (this.conn ??= { query: () => 'rows' });
      }
    }
    const q = app.task(function query(self) {
      return (self as unknown as DatabaseTask).db.query();
    }, { name: 'tasks.query', bind: true, base: DatabaseTask as never });
    expect(q).toBeInstanceOf(DatabaseTask);
    expect(await q.call()).toBe('rows');
    app.Task = DatabaseTask as never;
    expect(app.task(function other() {}, {})).toBeInstanceOf(DatabaseTask);
  });

  it('registers shared tasks on every app and calls them through the current app', async () => {
    const a = makeApp('a');
    const shared = sharedTask((x: number) => x * 10, { name: 'shared.times10' });
    const b = makeApp('b');
    expect(a.tasks.has('shared.times10')).toBe(true);
    expect(b.tasks.has('shared.times10')).toBe(true);
    expect(shared.for(a).app).toBe(a);
    expect(await shared.call(4)).toBe(40);
  });

  it('loads configuration from an object, with precedence run-time > config source > defaults', async () => {
    const app = makeApp();
    app.conf.addDefaults({ worker_concurrency: 3 });
    await app.configFromObject({ task_default_queue: 'from-config', worker_concurrency: 5 });
    expect(app.conf.get('worker_concurrency')).toBe(5);
    app.conf.set('task_default_queue', 'runtime');
    expect(app.conf.get('task_default_queue')).toBe('runtime');
    await expect(app.configFromObject('./no/such/module.ts')).rejects.toBeInstanceOf(ImproperlyConfigured);
    await expect(app.configFromEnvvar('CELERIAC_TEST_UNSET_VAR')).rejects.toThrow(/is not set/);
  });
});

describe('signals', () => {
  it('fires publish, worker and task signals in Celery order; a failing handler breaks nothing', async () => {
    const app = makeApp();
    const events: string[] = [];
    for (const name of ['before_task_publish', 'after_task_publish', 'task_received', 'task_prerun', 'task_success', 'task_failure', 'task_postrun', 'worker_ready', 'worker_shutdown'] as const) {
      app.signals.connect(name, () => {
        events.push(name);
      });
    }
    app.signals.connect('task_prerun', () => {
      throw new Error('handler bug');
    });
    const ok = app.task(() => 1, { name: 'tasks.ok' });
    const worker = await startWorker(app);
    expect(await (await ok.delay()).get({ timeout: 5 })).toBe(1);
    expect(events).toEqual(['worker_ready', 'before_task_publish', 'after_task_publish', 'task_received', 'task_prerun', 'task_success', 'task_postrun']);
    await worker.stop('warm');
    expect(events.at(-1)).toBe('worker_shutdown');
  });
});

describe('app.workerMain (Celery\'s app.worker_main)', () => {
  it('parses the worker command for this app: an unknown flag is refused before any worker starts', async () => {
    const app = makeApp();
    expect(app.constructor.name).toBe('Celery');
    await expect(app.workerMain(['worker', '--no-such-flag'])).rejects.toThrow(/unknown option '--no-such-flag'/);
  });
});

describe('app.task() refuses what is not a task', () => {
  it('arguments in the wrong order, and an empty or non-string name, fail at definition with what to write', () => {
    const app = new Celery('defs', { broker: 'memory://defs' });
    const misuse = app.task as unknown as (...a: unknown[]) => unknown;
    expect(() => misuse.call(app, 'tasks.add', (x: number) => x)).toThrow(ImproperlyConfigured);
    expect(() => misuse.call(app, 'tasks.add', (x: number) => x)).toThrow(/takes the task function first .* got the string 'tasks\.add'/);
    expect(() => app.task((x: number) => x, { name: '' })).toThrow(/non-empty string \(got ""\)/);
    expect(app.tasks.names()).not.toContain('');
    expect(app.tasks.names()).not.toContain('tasks.add');
  });
});
