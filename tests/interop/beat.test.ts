// Beat across languages, on Redis: a celeriac beat drives a Python Celery worker, and Python Celery's beat
// (Debian's 5.2.6) drives a celeriac worker. Same messages both ways.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Beat, Celery } from '../../src/index.js';
import { redisUrls, startCeleriacWorker, startPythonWorker, type Proc } from './harness.js';

const urls = redisUrls(inject('redisUrl'), 0);
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms: number) => {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('beat interop with Python Celery', () => {
  it('a celeriac beat drives a Python worker', async () => {
    const queue = `beat-py-${randomUUID()}`;
    const worker: Proc = await startPythonWorker(urls, { queues: queue, hostname: `py-beat-${randomUUID()}@interop` });
    cleanup.push(() => worker.stop('SIGKILL'));
    const app = new Celery(`beat-to-py-${randomUUID()}`, {
      broker: urls.broker,
      backend: urls.backend,
      beat_schedule: { 'add-often': { task: 'interop.add', schedule: 0.5, args: [20, 22], options: { queue }, remote: true } },
    });
    cleanup.push(() => app.close());
    const ids: string[] = [];
    app.signals.connect('after_task_publish', ({ taskId }) => void ids.push(taskId));
    const beat = new Beat(app);
    await beat.start();
    cleanup.push(() => beat.stop());
    await until('beat sends three runs', () => ids.length >= 3, 20_000);
    for (const id of ids.slice(0, 3)) expect(await app.AsyncResult(id).get({ timeout: 20 })).toBe(42);
  });

  it('Python Celery beat drives a celeriac worker', async () => {
    const queue = `beat-ts-${randomUUID()}`;
    const marker = randomUUID();
    const worker = await startCeleriacWorker(urls, ['-Q', queue, '-n', `ts-beat-${randomUUID()}@interop`]);
    cleanup.push(() => worker.stop('SIGKILL'));
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-pybeat-'));
    const script = [
      'import sys',
      'from celery import Celery',
      "app = Celery('pybeat', broker=sys.argv[1], backend=sys.argv[2])",
      "app.conf.beat_schedule = {'echo-often': {'task': 'interop.echo', 'schedule': 0.5, 'args': (sys.argv[3],), 'options': {'queue': sys.argv[4]}}}",
      "app.Beat(loglevel='INFO', schedule=sys.argv[5], max_interval=0.5).run()",
    ].join('\n');
    const py = spawn('/usr/bin/python3', ['-c', script, urls.broker, urls.backend, marker, queue, join(dir, 'schedule')], { stdio: 'ignore' });
    cleanup.push(async () => py.kill('SIGKILL'));
    const results = new Redis(urls.backend);
    cleanup.push(() => results.quit());
    const echoed = async () => {
      const keys = await results.keys('celery-task-meta-*');
      const metas = keys.length ? await results.mget(keys) : [];
      return metas.filter((m) => m && m.includes(marker)).map((m) => JSON.parse(m!) as { status: string; result: { args: unknown[] } });
    };
    await until('the celeriac worker runs three of Python beat\'s messages', async () => (await echoed()).length >= 3, 30_000);
    for (const meta of await echoed()) {
      expect(meta.status).toBe('SUCCESS');
      expect(meta.result.args).toEqual([marker]);
    }
  });
});
