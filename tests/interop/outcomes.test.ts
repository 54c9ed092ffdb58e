// How tasks end, against real Python Celery 5.2 both ways (issue 9): a failed chain step and a failed chord member
// sent by Python to a celeriac worker, and by celeriac to a Python worker; and the documents a celeriac worker and a
// Python worker store for the same failed chain, failed chord, expired task and hard time limit, side by side.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery, chain, chord } from '../../src/index.js';
import { RemoteTaskError } from '../../src/errors.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import { py, startCeleriacWorker, startPythonWorker, type Proc, type PyOutcome, type Urls } from './harness.js';

// A private redis-server: the suite's has no database pair left, and these tests run two workers of their own.
let redis: RedisServer;
let toTs: Urls;
let toPy: Urls;
let ts: Proc;
let python: Proc;
let client: Celery;

beforeAll(async () => {
  redis = await startRedis();
  const root = redis.url.replace(/\/\d*$/, '');
  toTs = { broker: `${root}/0`, backend: `${root}/1` };
  toPy = { broker: `${root}/2`, backend: `${root}/3` };
  [ts, python] = await Promise.all([startCeleriacWorker(toTs), startPythonWorker(toPy, { pool: 'prefork', concurrency: 2, hostname: 'py@outcomes' })]);
  client = new Celery('client', { broker: toPy.broker, backend: toPy.backend });
}, 90_000);

afterAll(async () => {
  await client?.close();
  expect(await ts?.stop()).toBe(0);
  await python?.stop();
  await redis?.stop();
});

const add = (...args: number[]) => ({ task: 'interop.add', args });
const canvas = (urls: Urls, spec: unknown) => py<PyOutcome>(urls, ['canvas', JSON.stringify(spec)]);
const call = (urls: Urls, name: string, args: unknown[], options: Record<string, unknown>) => py<PyOutcome>(urls, ['call', name, JSON.stringify(args), '--options', JSON.stringify(options)]);
const keys = (meta: Record<string, unknown> | null) => Object.keys(meta ?? {});

describe('a failed chain step and a failed chord member, both ways', () => {
  it('Python chain(add(2,2), fail, add(10)) on celeriac: the last step is FAILURE ValueError at once, as on Python', async () => {
    const spec = { chain: [add(2, 2), { task: 'interop.fail' }, add(10)] };
    const [onTs, onPy] = await Promise.all([canvas(toTs, spec), canvas(toPy, spec)]);
    for (const out of [onTs, onPy]) expect(out).toMatchObject({ state: 'FAILURE', result: { exc_type: 'ValueError', exc_module: 'builtins' } });
    // The marked step: the failed task's document and traceback, no children, no parent (Celery's chain marking).
    expect(keys(onTs.meta)).toEqual(keys(onPy.meta));
    expect(keys(onTs.meta)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    expect(onTs.meta?.traceback).toMatch(/ValueError: 4/);
  });

  it('Python chord([add, fail(inchord)], xsum) on celeriac: the body is FAILURE ChordError, same text as Python\'s', async () => {
    const spec = { chord: [add(1, 1), { task: 'interop.fail', args: ['inchord'] }], body: { task: 'interop.xsum' } };
    const [onTs, onPy] = await Promise.all([canvas(toTs, spec), canvas(toPy, spec)]);
    for (const out of [onTs, onPy]) {
      expect(out.state).toBe('FAILURE');
      expect(out.result).toEqual({ exc_type: 'ChordError', exc_message: [expect.stringMatching(/^Dependency [0-9a-f-]{36} raised ValueError\('inchord'\)$/)], exc_module: 'celery.exceptions' });
    }
    expect(keys(onTs.meta)).toEqual(keys(onPy.meta));
  });

  it('celeriac chain and chord on a Python worker: get() raises the ValueError at once; the body fails with ChordError', async () => {
    const sig = (name: string, ...args: unknown[]) => client.signature(name, args);
    const last = await chain(sig('interop.add', 2, 2), sig('interop.fail'), sig('interop.add', 10)).applyAsync();
    await expect(last.get({ timeout: 20 })).rejects.toMatchObject({ excType: 'ValueError', excMessage: [4] });
    const body = await chord([sig('interop.add', 1, 1), sig('interop.fail', 'inchord')], sig('interop.xsum')).applyAsync();
    const err = (await body.get({ timeout: 20, propagate: false })) as RemoteTaskError;
    expect(err).toBeInstanceOf(RemoteTaskError);
    expect(err.excMessage).toEqual([expect.stringMatching(/raised ValueError\('inchord'\)$/)]);
  });
});

describe('link_error both ways', () => {
  it('a one-argument errback is sent the failed task\'s id, by celeriac as by Python', async () => {
    // Python client → celeriac worker: interop.sleep(id) returns what it was given.
    const eb = randomUUID();
    const errback = { task: 'interop.sleep', args: [], kwargs: {}, options: { task_id: eb }, subtask_type: null, immutable: false };
    const failed = await call(toTs, 'interop.fail', ['x'], { link_error: [errback] });
    expect(failed.state).toBe('FAILURE');
    expect(await py<PyOutcome>(toTs, ['result', eb])).toMatchObject({ state: 'SUCCESS', result: failed.id });
    // celeriac client → Python worker: Python's interop.sleep(id) fails naming the id it was given.
    const eb2 = randomUUID();
    const r = await client.sendTask('interop.fail', ['x'], {}, { linkError: client.signature('interop.sleep', [], {}, { task_id: eb2 }) });
    const err = (await client.AsyncResult(eb2).get({ timeout: 20, propagate: false })) as RemoteTaskError;
    expect(err.excMessage).toEqual([`could not convert string to float: '${r.id}'`]);
  });
});

describe('the same documents as a Python worker', () => {
  it('expired: REVOKED TaskRevokedError(expired), no traceback, the same fields', async () => {
    const options = { expires: -10 };
    const [onTs, onPy] = await Promise.all([call(toTs, 'interop.add', [1, 2], options), call(toPy, 'interop.add', [1, 2], options)]);
    for (const out of [onTs, onPy]) {
      expect(out.state).toBe('REVOKED');
      expect(out.meta).toMatchObject({ status: 'REVOKED', result: { exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' }, traceback: null, children: [] });
    }
    expect(keys(onTs.meta)).toEqual(keys(onPy.meta));
  });

  it('hard time limit: FAILURE TimeLimitExceeded with the limit as its argument, from billiard, no traceback', async () => {
    const options = { time_limit: 1 };
    const [onTs, onPy] = await Promise.all([call(toTs, 'interop.sleep', [5], options), call(toPy, 'interop.sleep', [5], options)]);
    for (const out of [onTs, onPy]) {
      expect(out.state).toBe('FAILURE');
      expect(out.meta).toMatchObject({ status: 'FAILURE', result: { exc_type: 'TimeLimitExceeded', exc_message: [1], exc_module: 'billiard.exceptions' }, traceback: null });
    }
    expect(keys(onTs.meta)).toEqual(keys(onPy.meta));
  });
});
