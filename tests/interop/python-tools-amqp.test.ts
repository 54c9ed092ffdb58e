// Python and celeriac workers on one RabbitMQ: the pidbox queues are declared with kombu's exact arguments
// (x-expires, x-message-ttl, auto-delete, not durable), so a Python and a celeriac worker with the same node name
// start in either order (a mismatch is a 406 PRECONDITION_FAILED for the second); Python's tools then work on
// the celeriac worker over AMQP as on Redis.

import { afterAll, describe, expect, inject, it } from 'vitest';
import { redisUrls, type Proc, type Urls } from './harness.js';
import { celeryJson, pyTools, shapeOf, startCeleriacToolsWorker, startEventMonitor, startPythonToolsWorker } from './tools-harness.js';

const urls: Urls = { broker: inject('amqpUrl'), backend: redisUrls(inject('redisUrl'), 10).backend };
const running: Proc[] = [];
const started = (p: Proc) => (running.push(p), p);

afterAll(async () => {
  await Promise.all(running.filter((p) => p.alive()).map((p) => p.stop('SIGQUIT')));
});

async function stopAll(): Promise<void> {
  for (const p of running.splice(0)) if (p.alive()) expect(await p.stop('SIGQUIT')).not.toBeNull();
}

describe('one node name, a Python and a celeriac worker, one RabbitMQ', { timeout: 180_000 }, () => {
  for (const pythonFirst of [true, false]) {
    it(`${pythonFirst ? 'Python' : 'celeriac'} first: the second one starts too, and the node answers`, async () => {
      const name = `same-${pythonFirst ? 'py' : 'ts'}@tools-amqp`;
      const python = () => startPythonToolsWorker(urls, { hostname: name, queues: 'py-amqp-tools' }).then(started);
      const celeriac = () => startCeleriacToolsWorker(urls, { hostname: name, queues: 'ts-amqp-tools' }).then(started);
      const [first, second] = pythonFirst ? [python, celeriac] : [celeriac, python];
      await first();
      const other = await second();
      expect(other.alive()).toBe(true);
      expect(other.output()).not.toMatch(/PRECONDITION_FAILED|inequivalent arg/);
      // Both consume the one pidbox queue (Celery warns about duplicate names): whichever gets the request answers.
      expect(await celeryJson(urls, 'inspect', 'ping', ['-d', name])).toEqual({ [name]: { ok: 'pong' } });
      expect(running.every((p) => p.alive())).toBe(true);
      await stopAll();
    });
  }
});

describe('Python\'s tools on a celeriac worker over AMQP', { timeout: 180_000 }, () => {
  const PY = 'py@tools-amqp';
  const TS = 'ts@tools-amqp';

  it('stats and active_queues have Python\'s shape; the event monitor sees celeriac\'s task events', async () => {
    const monitor = await startEventMonitor(urls);
    try {
      await Promise.all([
        startPythonToolsWorker(urls, { hostname: PY, queues: 'py-amqp-tools', events: true }).then(started),
        startCeleriacToolsWorker(urls, { hostname: TS, queues: 'ts-amqp-tools', events: true }).then(started),
      ]);
      const out = await pyTools<{ ids: string[]; state: string }>(urls, ['send', 'tools.add', '[4, 5]', '--queue', 'ts-amqp-tools']);
      expect(out.state).toBe('SUCCESS');
      const succeeded = await monitor.waitFor((e) => e.type === 'task-succeeded' && e.uuid === out.ids[0], 'task-succeeded from celeriac');
      expect(succeeded).toMatchObject({ hostname: TS, result: '9' });
      const stats = await celeryJson(urls, 'inspect', 'stats');
      const broker = (node: string) => (stats[node] as Record<string, unknown>).broker;
      expect(shapeOf(broker(TS))).toEqual(shapeOf(broker(PY)));
      expect((stats[TS] as Record<string, any>).broker).toMatchObject({ transport: 'amqp', virtual_host: '/', userid: 'guest', hostname: '127.0.0.1' });
      const queues = await celeryJson(urls, 'inspect', 'active_queues');
      expect(shapeOf(queues[TS])).toEqual(shapeOf(queues[PY]));
    } finally {
      await monitor.stop().catch(() => undefined);
      await stopAll();
    }
  });
});
