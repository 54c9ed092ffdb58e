// The worker's terminal path on real brokers (issue 9): chain and chord members that fail, are revoked (through
// real remote control), expire, hit their hard time limit or lose their prefork child end as Python Celery 5.2 ends
// them: the chain's result fails at once, the chord body is FAILURE with ChordError and its link_error runs.

import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Celery, chain, chord } from '../../src/index.js';
import { Signature } from '../../src/canvas/signature.js';
import { RemoteTaskError } from '../../src/errors.js';
import { Worker } from '../../src/worker/worker.js';

const redisRoot = inject('redisUrl').replace(/\/\d*$/, '');
const POOL_APP = `${fileURLToPath(new URL('../fixtures/pool-app.ts', import.meta.url))}:app`;

class ValueError extends Error {
  override name = 'ValueError';
}

/** Wait for `check` (results arrive by push; errback side effects are polled). */
async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function failureOf(result: { get(o: { timeout: number; propagate: false }): Promise<unknown> }): Promise<RemoteTaskError> {
  const value = await result.get({ timeout: 20, propagate: false });
  expect(value).toBeInstanceOf(RemoteTaskError);
  return value as RemoteTaskError;
}

describe.each([
  // Redis db 15: nothing else uses it as a broker, so the default queue (which pool children route to) is ours.
  { name: 'Redis', broker: `${redisRoot}/15`, queue: 'celery' },
  { name: 'RabbitMQ', broker: inject('amqpUrl'), queue: `terminal-${randomUUID().slice(0, 8)}` },
])('terminal outcomes over $name', ({ broker, queue }) => {
  const backend = `${redisRoot}/15`;
  const conf = { broker, backend, task_default_queue: queue, broker_transport_options: { polling_interval: 0.02 } };
  const app = new Celery('term', conf);
  const client = new Celery('term', conf);
  const errbackIds: string[] = [];
  const add = app.task((x: number, y: number) => x + y, { name: 'term.add' });
  const xsum = app.task((xs: number[]) => xs.reduce((a, b) => a + b, 0), { name: 'term.xsum' });
  const fail = app.task((m: unknown) => {
    throw new ValueError(String(m));
  }, { name: 'term.fail' });
  const hang = app.task(() => new Promise(() => undefined), { name: 'term.hang' });
  const sleep = app.task((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), { name: 'term.sleep' });
  const errback = app.task((id: string) => void errbackIds.push(id), { name: 'term.errback' });
  let worker: Worker;

  beforeAll(async () => {
    worker = new Worker(app, { banner: false, concurrency: 2, hostname: `term-${randomUUID().slice(0, 8)}@it` });
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop('cold');
    await client.close();
  });

  it('chain(add.s(2,2), fail.s(), add.s(10)).get() raises the ValueError at once', async () => {
    const last = await chain(add.s(2, 2), fail.s(), add.s(10)).applyAsync();
    await expect(last.get({ timeout: 20 })).rejects.toMatchObject({ excType: 'ValueError', excMessage: ['4'], excModule: 'builtins' });
  });

  it('a failed chord member: body FAILURE with ChordError, the body\'s link_error gets its id', async () => {
    const body = xsum.s().set({ link_error: [errback.s()] });
    const r = await chord([add.s(1, 1), fail.s('inchord')], body).applyAsync();
    expect((await failureOf(r)).excMessage).toEqual([expect.stringMatching(/raised ValueError\('inchord'\)$/)]);
    await until(() => errbackIds.includes(r.id));
  });

  it('a chord member revoked through remote control: body FAILURE with ChordError(… TaskRevokedError(\'revoked\'))', async () => {
    const revoked = randomUUID();
    await client.control.revoke(revoked);
    await until(() => worker.state.revoked.has(revoked));
    const r = await chord([add.s(1, 1), add.s(2, 2).set({ task_id: revoked })], xsum.s()).applyAsync();
    expect((await failureOf(r)).excMessage).toEqual([`Dependency ${revoked} raised TaskRevokedError('revoked')`]);
    expect(await client.AsyncResult(revoked).state()).toBe('REVOKED');
  });

  it('a chord member terminated while running (revoke terminate=True): REVOKED terminated, body ChordError', async () => {
    const running = randomUUID();
    const r = await chord([add.s(1, 1), hang.s().set({ task_id: running })], xsum.s()).applyAsync();
    await until(() => worker.state.active.has(running));
    await client.control.revoke(running, { terminate: true });
    expect((await failureOf(r)).excMessage).toEqual([`Dependency ${running} raised TaskRevokedError('terminated')`]);
  });

  it('a chord member that expires waiting for a slot, and one past its hard time limit: ChordError each', async () => {
    const expiring = await chord([add.s(1, 1), add.s(2, 2).set({ expires: new Date(Date.now() - 1000).toISOString() })], xsum.s()).applyAsync();
    expect((await failureOf(expiring)).excMessage).toEqual([expect.stringMatching(/raised TaskRevokedError\('expired'\)$/)]);
    const limited = await chord([add.s(1, 1), hang.s().set({ time_limit: 0.3 })], xsum.s().set({ link_error: [errback.s()] })).applyAsync();
    expect((await failureOf(limited)).excMessage).toEqual([expect.stringMatching(/raised TimeLimitExceeded\(0\.3\)$/)]);
    await until(() => errbackIds.includes(limited.id));
  });

  it('expiry is checked again when a slot frees: two sleeps hold both slots, then add(expires) is REVOKED expired', async () => {
    const busy = await Promise.all([sleep.delay(800), sleep.delay(800)]);
    const r = await add.applyAsync([1, 1], {}, { expires: 0.3 });
    expect((await failureOf(r)).excMessage).toEqual(['expired']);
    for (const b of busy) expect(await b.get({ timeout: 20 })).toBe(800);
  });

  it('link_error on a plain failure gets the failed id', async () => {
    const r = await fail.applyAsync(['x'], {}, { linkError: errback.s() });
    await failureOf(r);
    await until(() => errbackIds.includes(r.id));
  });
});

describe('a prefork child lost mid-task, over Redis', () => {
  const url = `${redisRoot}/15`;
  let worker: Worker;
  let client: Celery;

  beforeAll(async () => {
    const parent = new Celery('pool', { broker: url, backend: url, worker_proc_alive_timeout: 30 });
    for (const name of ['pool.whoami', 'pool.exit', 'pool.types']) parent.task(() => { throw new Error('runs in a child only'); }, { name });
    client = new Celery('client', { broker: url, backend: url });
    worker = new Worker(parent, { banner: false, concurrency: 2, pool: 'prefork', appModule: POOL_APP, loglevel: 'CRITICAL', hostname: `lost-${randomUUID().slice(0, 8)}@it` });
    await worker.start();
  }, 90_000);
  afterAll(async () => {
    await worker?.stop('cold');
    await client?.close();
  });

  it('chain member and chord member: WorkerLostError fails the chain at once and the chord body with ChordError; link_error runs', async () => {
    const si = (name: string, args: unknown[] = [], options: Record<string, unknown> = {}) => new Signature(name, args, {}, options, true, client);
    const eb = randomUUID();
    const last = await chain(si('pool.exit', [3]), si('pool.whoami')).applyAsync();
    const body = client.signature('pool.types', [], {}, { link_error: [client.signature('pool.types', [], {}, { task_id: eb }).toDict()] });
    const r = await chord([si('pool.exit', [3])], body).applyAsync();
    await expect(last.get({ timeout: 60 })).rejects.toMatchObject({ excType: 'WorkerLostError', excModule: 'billiard.exceptions' });
    expect((await failureOf(r)).excMessage).toEqual([expect.stringMatching(/raised WorkerLostError\('Worker exited prematurely: exitcode 3 Job: [0-9a-f-]{36}\.'\)$/)]);
    expect(await client.AsyncResult(eb).get({ timeout: 60 })).toMatchObject({ text: r.id });
  }, 120_000);
});
