// Every way a task ends in the worker (the one terminal path, worker/results.ts) × {plain, chain member, chord
// member, link_error}, on the in-process broker and backend, against what Python Celery 5.2 stores and sends.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Celery, chain, chord } from '../../../src/index.js';
import { RemoteTaskError } from '../../../src/errors.js';
import { EventReceiver } from '../../../src/events/receiver.js';
import type { EventFields } from '../../../src/protocol/events.js';
import type { Request } from '../../../src/task/context.js';
import { Worker, type WorkerOptions } from '../../../src/worker/worker.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});

class ValueError extends Error {
  override name = 'ValueError';
}

/** Poll `check` until it holds (state changes have no push on the memory backend for every case). */
async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A worker and a client on one private in-process namespace, with the tasks every scenario uses. */
async function setup(options: WorkerOptions = {}, settings: Record<string, unknown> = {}) {
  const ns = randomUUID();
  const conf = { broker: `memory://${ns}`, backend: `memory://${ns}`, ...settings };
  const app = new Celery('t', conf);
  const client = new Celery('t', conf);
  cleanup.push(() => client.close());
  const errbackIds: string[] = [];
  const errbackRequests: Request[] = [];
  const oldStyle: Array<{ request: Request; error: unknown; traceback: string | null }> = [];
  const tasks = {
    add: app.task((x: number, y: number) => x + y, { name: 't.add' }),
    xsum: app.task((xs: number[]) => xs.reduce((a, b) => a + b, 0), { name: 't.xsum' }),
    fail: app.task((m: unknown) => {
      throw new ValueError(String(m));
    }, { name: 't.fail' }),
    hang: app.task(() => new Promise(() => undefined), { name: 't.hang' }),
    sleep: app.task((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), { name: 't.sleep' }),
    errback: app.task(function errback(self, id: string) {
      errbackIds.push(id);
      errbackRequests.push(self.request);
    }, { name: 't.errback', bind: true }),
    limited: app.task((x: number) => x, { name: 't.limited', rateLimit: '1/s' }),
    retryOnce: app.task(function retryOnce(self, x: number) {
      if (self.request.retries < 1) self.retry({ countdown: 0 });
      return x;
    }, { name: 't.retryOnce', bind: true }),
    onError: app.task((request: Request, error: unknown, traceback: string | null) => void oldStyle.push({ request, error, traceback }), { name: 't.on_error' }),
    circular: app.task(() => {
      const o: Record<string, unknown> = {};
      o.self = o;
      return o;
    }, { name: 't.circular' }),
  };
  const worker = new Worker(app, { banner: false, concurrency: 2, ...options });
  await worker.start();
  cleanup.push(() => worker.stop('cold'));
  const backend = await client.getBackend();
  return { app, client, worker, tasks, errbackIds, errbackRequests, oldStyle, backend, meta: (id: string) => backend.get(id) };
}

async function failureOf(result: { get(o: { timeout: number; propagate: false }): Promise<unknown> }): Promise<RemoteTaskError> {
  const value = await result.get({ timeout: 5, propagate: false });
  expect(value).toBeInstanceOf(RemoteTaskError);
  return value as RemoteTaskError;
}

async function events(client: Celery): Promise<EventFields[]> {
  const seen: EventFields[] = [];
  const receiver = new EventReceiver(await client.getTransport(), (e) => seen.push(e));
  await receiver.start();
  cleanup.push(() => receiver.stop());
  return seen;
}

describe('FAILURE', () => {
  it('plain: stored with the error document and the traceback', async () => {
    const { tasks, meta } = await setup();
    const r = await tasks.fail.delay('boom');
    const err = await failureOf(r);
    expect([err.excType, err.excMessage, err.excModule]).toEqual(['ValueError', ['boom'], 'builtins']);
    expect((await meta(r.id))?.traceback).toMatch(/ValueError: boom/);
  });

  it('chain member: chain(add.s(2,2), fail.s(), add.s(10)).get() raises the ValueError at once; every later step is FAILURE', async () => {
    const { tasks, meta } = await setup();
    const last = await chain(tasks.add.s(2, 2), tasks.fail.s(), tasks.add.s(10)).applyAsync();
    await expect(last.get({ timeout: 5 })).rejects.toMatchObject({ excType: 'ValueError', excMessage: ['4'] });
    const stored = await meta(last.id);
    // As Celery marks a chain step: the failed task's document and traceback, no children, no parent.
    expect(stored).toMatchObject({ status: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['4'], exc_module: 'builtins' }, children: [] });
    expect(stored?.parent_id).toBeUndefined();
    expect(stored?.traceback).toMatch(/ValueError: 4/);
  });

  it('chord member: the body is stored FAILURE with ChordError naming the member; the body\'s errbacks run', async () => {
    const { tasks, errbackIds, oldStyle } = await setup();
    const body = tasks.xsum.s().set({ link_error: [tasks.errback.s(), tasks.onError.s()] });
    const r = await chord([tasks.add.s(1, 1), tasks.fail.s('inchord')], body).applyAsync();
    const err = await failureOf(r);
    expect(err.excType).toBe('ChordError');
    expect(err.excModule).toBe('celery.exceptions');
    expect(err.excMessage).toEqual([expect.stringMatching(/^Dependency [0-9a-f-]{36} raised ValueError\('inchord'\)$/)]);
    await until(() => errbackIds.length === 1 && oldStyle.length === 1);
    expect(errbackIds).toEqual([r.id]);
    expect(oldStyle[0]!.request.id).toBe(r.id);
    expect(oldStyle[0]!.error).toMatchObject({ name: 'ChordError' });
  });

  it('link_error: a signature errback gets the failed id (parent_id = it, in a new group); an old-style one gets (request, error, traceback)', async () => {
    const { tasks, errbackIds, errbackRequests, oldStyle } = await setup();
    const r = await tasks.fail.applyAsync(['x'], {}, { linkError: [tasks.errback.s(), tasks.onError.s()] });
    await failureOf(r);
    await until(() => errbackIds.length === 1 && oldStyle.length === 1);
    expect(errbackIds).toEqual([r.id]);
    expect(errbackRequests[0]).toMatchObject({ parent_id: r.id, root_id: r.id, group: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(oldStyle[0]!.request.id).toBe(r.id);
    expect(oldStyle[0]!.error).toMatchObject({ name: 'ValueError', message: 'x' });
    expect(oldStyle[0]!.traceback).toMatch(/ValueError: x/);
  });
});

describe('REVOKED (revoked)', () => {
  it('plain: discarded, REVOKED TaskRevokedError(revoked), task-revoked sent, the errbacks not called (Celery)', async () => {
    const { tasks, worker, client, errbackIds, meta } = await setup({ events: true });
    const seen = await events(client);
    const id = randomUUID();
    worker.revoke(id);
    const r = await tasks.add.applyAsync([1, 1], {}, { taskId: id, linkError: tasks.errback.s() });
    const err = await failureOf(r);
    expect([err.excType, err.excMessage]).toEqual(['TaskRevokedError', ['revoked']]);
    expect(await meta(id)).toMatchObject({ status: 'REVOKED', traceback: null, children: [] });
    await until(() => seen.some((e) => e.type === 'task-revoked' && e.uuid === id));
    expect(seen.find((e) => e.type === 'task-revoked')).toMatchObject({ terminated: false, signum: null, expired: false });
    // Revoked on receipt: no task-received (Celery checks before it reports the task).
    expect(seen.some((e) => e.type === 'task-received' && e.uuid === id)).toBe(false);
    expect(errbackIds).toEqual([]);
  });

  it('chord member: the body is stored FAILURE with ChordError, its errback runs', async () => {
    const { tasks, worker, errbackIds } = await setup();
    const revoked = randomUUID();
    worker.revoke(revoked);
    const body = tasks.xsum.s().set({ link_error: [tasks.errback.s()] });
    const r = await chord([tasks.add.s(1, 1), tasks.add.s(2, 2).set({ task_id: revoked })], body).applyAsync();
    const err = await failureOf(r);
    expect(err.excMessage).toEqual([`Dependency ${revoked} raised TaskRevokedError('revoked')`]);
    await until(() => errbackIds.length === 1);
    expect(errbackIds).toEqual([r.id]);
  });

  it('chain member: REVOKED; the later steps are left as Celery leaves them (PENDING)', async () => {
    const { tasks, worker, client } = await setup();
    const revoked = randomUUID();
    worker.revoke(revoked);
    const last = await chain(tasks.add.s(1, 1), tasks.add.s(2).set({ task_id: revoked }), tasks.add.s(3)).applyAsync();
    expect((await failureOf(client.AsyncResult(revoked))).excType).toBe('TaskRevokedError');
    expect(await last.state()).toBe('PENDING');
  });
});

describe('REVOKED (expired), checked again right before the task runs', () => {
  it('plain: expires in the past → REVOKED TaskRevokedError(expired), task-revoked expired=true', async () => {
    const { tasks, client } = await setup({ events: true });
    const seen = await events(client);
    const r = await tasks.add.applyAsync([1, 1], {}, { expires: new Date(Date.now() - 1000) });
    expect((await failureOf(r)).excMessage).toEqual(['expired']);
    await until(() => seen.some((e) => e.type === 'task-revoked' && e.uuid === r.id));
    expect(seen.find((e) => e.type === 'task-revoked')).toMatchObject({ terminated: false, signum: null, expired: true });
  });

  it('waiting for the only slot past its expires (sleep then add(expires) on -c 1) → REVOKED expired, never run', async () => {
    const { tasks } = await setup({ concurrency: 1 });
    const busy = await tasks.sleep.delay(600);
    const r = await tasks.add.applyAsync([1, 1], {}, { expires: 0.2 });
    expect((await failureOf(r)).excMessage).toEqual(['expired']);
    expect(await busy.get({ timeout: 5 })).toBe(600);
  });

  it('countdown past its expires (countdown 0.4, expires 0.2) → REVOKED expired after the ETA', async () => {
    const { tasks } = await setup();
    const r = await tasks.add.applyAsync([1, 1], {}, { countdown: 0.4, expires: 0.2 });
    expect((await failureOf(r)).excMessage).toEqual(['expired']);
  });

  it('waiting on a rate limit past its expires → REVOKED expired', async () => {
    const { tasks } = await setup();
    const first = await tasks.limited.delay(1);
    const second = await tasks.limited.applyAsync([2], {}, { expires: 0.3 });
    expect(await first.get({ timeout: 5 })).toBe(1);
    expect((await failureOf(second)).excMessage).toEqual(['expired']);
  });

  it('chain member expired: REVOKED expired; the later steps are left PENDING, as Celery leaves them', async () => {
    const { tasks, client } = await setup();
    const expired = randomUUID();
    const last = await chain(tasks.add.s(1, 1), tasks.add.s(2).set({ task_id: expired, expires: new Date(Date.now() - 1000).toISOString() }), tasks.add.s(3)).applyAsync();
    expect((await failureOf(client.AsyncResult(expired))).excMessage).toEqual(['expired']);
    expect(await last.state()).toBe('PENDING');
  });

  it('chord member expired → the body is FAILURE with ChordError(… TaskRevokedError(\'expired\'))', async () => {
    const { tasks } = await setup();
    const r = await chord([tasks.add.s(1, 1), tasks.add.s(2, 2).set({ expires: new Date(Date.now() - 1000).toISOString() })], tasks.xsum.s()).applyAsync();
    expect((await failureOf(r)).excMessage).toEqual([expect.stringMatching(/raised TaskRevokedError\('expired'\)$/)]);
  });
});

describe('RETRY', () => {
  it('a chain step and a chord member that retry once: RETRY is not terminal, the chain and the chord go on', async () => {
    const { tasks, meta } = await setup();
    const last = await chain(tasks.retryOnce.s(5), tasks.add.s(1)).applyAsync();
    expect(await last.get({ timeout: 5 })).toBe(6);
    const retried = randomUUID();
    const r = await chord([tasks.retryOnce.s(2).set({ task_id: retried }), tasks.add.s(1, 1)], tasks.xsum.s()).applyAsync();
    expect(await r.get({ timeout: 5 })).toBe(4);
    expect(await meta(retried)).toMatchObject({ status: 'SUCCESS', result: 2 });
  });
});

describe('REVOKED (terminated)', () => {
  it('plain: REVOKED terminated; its errbacks are not called (Celery\'s mark_as_revoked calls none)', async () => {
    const { tasks, worker, errbackIds } = await setup();
    const running = randomUUID();
    const r = await tasks.hang.applyAsync([], {}, { taskId: running, linkError: tasks.errback.s() });
    await until(() => worker.state.active.has(running));
    worker.revoke(running, { terminate: true, signal: 'SIGKILL' });
    expect((await failureOf(r)).excMessage).toEqual(['terminated']);
    expect(errbackIds).toEqual([]);
  });

  it('revoke(terminate) of a running task → REVOKED terminated, task-revoked terminated with SIGTERM; a chord member fails the body', async () => {
    const { tasks, worker, client, meta } = await setup({ events: true });
    const seen = await events(client);
    const running = randomUUID();
    const r = await chord([tasks.add.s(1, 1), tasks.hang.s().set({ task_id: running })], tasks.xsum.s()).applyAsync();
    await until(() => worker.state.active.has(running));
    worker.revoke(running, { terminate: true });
    expect((await failureOf(r)).excMessage).toEqual([`Dependency ${running} raised TaskRevokedError('terminated')`]);
    expect(await meta(running)).toMatchObject({ status: 'REVOKED', result: { exc_message: ['terminated'] } });
    await until(() => seen.some((e) => e.type === 'task-revoked' && e.uuid === running));
    expect(seen.find((e) => e.type === 'task-revoked' && e.uuid === running)).toMatchObject({ terminated: true, signum: 15, expired: false });
  });
});

describe('time limit (hard)', () => {
  it('plain: FAILURE TimeLimitExceeded(limit) as Celery stores it (billiard module, the seconds as its argument)', async () => {
    const { tasks, meta } = await setup();
    const r = await tasks.hang.applyAsync([], {}, { timeLimit: 0.2 });
    const err = await failureOf(r);
    expect([err.excType, err.excMessage, err.excModule]).toEqual(['TimeLimitExceeded', [0.2], 'billiard.exceptions']);
    expect((await meta(r.id))?.traceback).toBeNull();
  });

  it('chain member: the rest of the chain is FAILURE at once; link_error runs with its id', async () => {
    const { tasks, errbackIds } = await setup();
    const last = await chain(tasks.add.s(1, 1), tasks.hang.s().set({ time_limit: 0.2, link_error: [tasks.errback.s()] }), tasks.add.s(3)).applyAsync();
    await expect(last.get({ timeout: 5 })).rejects.toMatchObject({ excType: 'TimeLimitExceeded' });
    await until(() => errbackIds.length === 1);
  });

  it('chord member: the body is FAILURE with ChordError(… TimeLimitExceeded(0.2)), its errback runs', async () => {
    const { tasks, errbackIds } = await setup();
    const body = tasks.xsum.s().set({ link_error: [tasks.errback.s()] });
    const r = await chord([tasks.add.s(1, 1), tasks.hang.s().set({ time_limit: 0.2 })], body).applyAsync();
    expect((await failureOf(r)).excMessage).toEqual([expect.stringMatching(/raised TimeLimitExceeded\(0\.2\)$/)]);
    await until(() => errbackIds.length === 1);
    expect(errbackIds).toEqual([r.id]);
  });
});

describe('unknown task', () => {
  it('plain: FAILURE NotRegistered(name), its errbacks not called (Celery), task-failed sent', async () => {
    const { client, errbackIds, tasks } = await setup({ events: true });
    const seen = await events(client);
    const r = await client.sendTask('t.nope', [1], {}, { linkError: tasks.errback.s() });
    const err = await failureOf(r);
    expect([err.excType, err.excMessage, err.excModule]).toEqual(['NotRegistered', ['t.nope'], 'celery.exceptions']);
    await until(() => seen.some((e) => e.type === 'task-failed' && e.uuid === r.id));
    expect(seen.find((e) => e.type === 'task-failed')?.exception).toBe("NotRegistered('t.nope')");
    expect(errbackIds).toEqual([]);
  });

  it('chain member: the later steps are FAILURE NotRegistered, so waiting on the chain fails instead of hanging', async () => {
    const { tasks, client } = await setup();
    const last = await chain(tasks.add.s(1, 1), client.signature('t.nope'), tasks.add.s(3)).applyAsync();
    await expect(last.get({ timeout: 5 })).rejects.toMatchObject({ excType: 'NotRegistered', excMessage: ['t.nope'] });
  });

  it('chord member: counted, so the body fails with ChordError instead of waiting forever', async () => {
    const { tasks, client } = await setup();
    const r = await chord([tasks.add.s(1, 1), client.signature('t.nope')], tasks.xsum.s()).applyAsync();
    expect((await failureOf(r)).excMessage).toEqual([expect.stringMatching(/raised NotRegistered\('t\.nope'\)$/)]);
  });
});

describe('a result that cannot be encoded', () => {
  it('FAILURE with EncodeError (kombu\'s) at once, not retried as a backend outage; a chain fails with it', async () => {
    const { tasks } = await setup();
    const started = Date.now();
    const r = await tasks.circular.delay();
    const err = await failureOf(r);
    expect([err.excType, err.excModule]).toEqual(['EncodeError', 'kombu.exceptions']);
    expect(String(err.excMessage)).toMatch(/Could not encode a value as json: .*circular/);
    expect(Date.now() - started).toBeLessThan(3000);
    const last = await chain(tasks.circular.s(), tasks.add.s(1)).applyAsync();
    await expect(last.get({ timeout: 5 })).rejects.toMatchObject({ excType: 'EncodeError' });
  });

  it('chord member and link_error: the body fails with ChordError(… EncodeError(…)), the errback gets the id', async () => {
    const { tasks, errbackIds } = await setup();
    const r = await chord([tasks.add.s(1, 1), tasks.circular.s()], tasks.xsum.s()).applyAsync();
    expect((await failureOf(r)).excMessage).toEqual([expect.stringMatching(/raised EncodeError\(["']Could not encode a value as json: Converting circular structure/)]);
    const plain = await tasks.circular.applyAsync([], {}, { linkError: tasks.errback.s() });
    await failureOf(plain);
    await until(() => errbackIds.includes(plain.id));
  });
});

describe('events of the terminal states', () => {
  it('task-failed for a hard time limit carries Celery\'s repr; the early-acked message is not settled twice', async () => {
    const { tasks, client } = await setup({ events: true });
    const seen = await events(client);
    const r = await tasks.hang.applyAsync([], {}, { timeLimit: 0.2 });
    await failureOf(r);
    await until(() => seen.some((e) => e.type === 'task-failed' && e.uuid === r.id));
    expect(seen.find((e) => e.type === 'task-failed' && e.uuid === r.id)?.exception).toBe('TimeLimitExceeded(0.2)');
    expect(seen.filter((e) => e.uuid === r.id).map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-failed']);
  });
});
