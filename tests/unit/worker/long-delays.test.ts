import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Celery } from '../../../src/index.js';
import { ImproperlyConfigured, TimeoutError } from '../../../src/errors.js';
import { Worker } from '../../../src/worker/worker.js';

// Delays from a user or a message longer than Node's 2^31−1 ms timer limit (~24.8 days), and get()'s units.

const DAY_S = 86_400;
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup() {
  const ns = randomUUID();
  const app = new Celery('tasks', { broker: `memory://${ns}`, backend: `memory://${ns}` });
  const client = new Celery('tasks', { broker: `memory://${ns}`, backend: `memory://${ns}` });
  const nap = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
  app.task(async (s: number) => {
    await nap(s);
    return 'slept';
  }, { name: 'tasks.sleep' });
  app.task(async (self: { signal: AbortSignal }, s: number) => {
    await nap(s);
    return self.signal.aborted ? 'aborted' : 'slept';
  }, { name: 'tasks.sleep_soft', bind: true, softTimeLimit: 30 * DAY_S });
  const worker = new Worker(app, { banner: false, concurrency: 2 });
  await worker.start();
  cleanup.push(() => client.close(), () => worker.stop('cold'));
  return { client };
}

describe('time limits longer than 24.8 days', () => {
  it.each([25, 30, 365])('a %i-day hard time limit does not kill a 0.3 s task', async (days) => {
    const { client } = await setup();
    const r = await client.sendTask('tasks.sleep', [0.3], {}, { timeLimit: days * DAY_S });
    expect(await r.get({ timeout: 10 })).toBe('slept');
    expect(await r.state()).toBe('SUCCESS');
  });

  it('a 30-day soft time limit does not abort a 0.3 s task', async () => {
    const { client } = await setup();
    expect(await (await client.sendTask('tasks.sleep_soft', [0.3])).get({ timeout: 10 })).toBe('slept');
  });
});

describe('get(): seconds, as Celery', () => {
  it('get({ timeout: 30 days }) waits for the result instead of rejecting at once', async () => {
    const { client } = await setup();
    const r = await client.sendTask('tasks.sleep', [0.3]);
    expect(await r.get({ timeout: 30 * DAY_S })).toBe('slept');
  });

  it('get({ timeout: 0.2 }) waits 0.2 s (Celery\'s habit), not 0.2 ms', async () => {
    const client = new Celery('tasks', { broker: 'memory://', backend: `memory://${randomUUID()}` });
    cleanup.push(() => client.close());
    const start = performance.now();
    await expect(client.AsyncResult('never').get({ timeout: 0.2, interval: 0.05 })).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - start).toBeGreaterThanOrEqual(190);
  });

  it.each([Number.NaN, -1, '5'])('get({ timeout: %s }) is a clear error', async (timeout) => {
    const client = new Celery('tasks', { broker: 'memory://', backend: `memory://${randomUUID()}` });
    cleanup.push(() => client.close());
    const error = await client.AsyncResult('x').get({ timeout: timeout as number }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImproperlyConfigured);
    expect((error as Error).message).toMatch(/get\(\{ timeout: .* \}\) is not a number of seconds/);
  });

  it('warns once when a timeout looks like milliseconds (earlier celeriac builds took ms)', async () => {
    const client = new Celery('tasks', { broker: 'memory://', backend: `memory://${randomUUID()}` });
    cleanup.push(() => client.close());
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const abort = new AbortController();
      const waits = [5000, 7000].map((timeout) => client.AsyncResult('x').get({ timeout, signal: abort.signal }).catch(() => undefined));
      abort.abort();
      await Promise.all(waits);
      await vi.waitFor(() => expect(warnings.filter((w) => (w as { code?: string }).code === 'CELERIAC_GET_SECONDS')).toHaveLength(1));
      expect(warnings[0]!.message).toContain('If you meant 5000 ms, write timeout: 5.');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
