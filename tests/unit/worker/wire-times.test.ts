import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Celery } from '../../../src/index.js';
import { Worker } from '../../../src/worker/worker.js';
import type { RemoteTaskError } from '../../../src/errors.js';

// Garbage and naive eta/expires reaching a worker, as a Python client or a hand-written message can send them.
// The project `tokyo` runs this file again under TZ=Asia/Tokyo.

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup() {
  const ns = randomUUID();
  const app = new Celery('tasks', { broker: `memory://${ns}`, backend: `memory://${ns}` });
  const client = new Celery('tasks', { broker: `memory://${ns}`, backend: `memory://${ns}` });
  const ranAt = new Map<string, number>();
  app.task((self: { request: { id: string } }) => {
    ranAt.set(self.request.id, Date.now());
    return 'ran';
  }, { name: 'tasks.mark', bind: true });
  const worker = new Worker(app, { banner: false, concurrency: 1 });
  await worker.start();
  cleanup.push(() => client.close(), () => worker.stop('cold'));
  return { client, ranAt };
}

async function pushRaw(client: Celery, id: string, headers: Record<string, unknown>) {
  const transport = await client.getTransport();
  await transport.publish(
    { body: Buffer.from('[[], {}, {}]'), contentType: 'application/json', contentEncoding: 'utf-8', headers: { task: 'tasks.mark', id, ...headers }, properties: {} },
    { exchange: '', routingKey: 'celery' },
  );
}

describe('worker: eta and expires that are not dates', () => {
  it.each([
    ['eta', 'next tuesday'],
    ['expires', 'garbage'],
    ['eta', 12345],
  ])('%s %j → FAILURE InvalidTaskError naming the field and the value; the task does not run', async (field, value) => {
    const { client, ranAt } = await setup();
    const id = randomUUID();
    await pushRaw(client, id, { [field]: value });
    const error = (await client.AsyncResult(id).get({ timeout: 5, propagate: false })) as RemoteTaskError;
    expect(error.excType).toBe('InvalidTaskError');
    expect(error.excModule).toBe('celery.exceptions');
    expect(error.message).toContain(`Invalid ${field} value ${typeof value === 'string' ? `'${value}'` : value}`);
    expect(ranAt.has(id)).toBe(false);
    // The worker carries on.
    expect(await (await client.sendTask('tasks.mark')).get({ timeout: 5 })).toBe('ran');
  });
});

describe('worker: a naive eta is UTC (Celery\'s rule), whatever TZ the worker machine has', () => {
  it('runs a naive eta 1.5 s ahead no sooner than that instant', async () => {
    const { client, ranAt } = await setup();
    const id = randomUUID();
    const due = Date.now() + 1_500;
    // Python's datetime.utcnow().isoformat(): no offset.
    await pushRaw(client, id, { eta: new Date(due).toISOString().replace('Z', '') });
    expect(await client.AsyncResult(id).get({ timeout: 10 })).toBe('ran');
    expect(ranAt.get(id)!).toBeGreaterThanOrEqual(due - 5);
  });
});
