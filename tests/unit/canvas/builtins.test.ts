// Celery's built-in tasks on a celeriac worker, sent as Python sends them (args and kwargs by Celery's names).

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Celery, GroupResult, type RemoteTaskError } from '../../../src/index.js';
import { BUILTIN_TASK_NAMES } from '../../../src/canvas/builtins.js';
import { Worker } from '../../../src/worker/worker.js';

let stop: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of stop.reverse()) await fn();
  stop = [];
});

/** get() waits in seconds, as Celery's. */
const T = { timeout: 10 };

async function setup() {
  const ns = randomUUID();
  const app = new Celery('bi', { broker: `memory://${ns}`, backend: `memory://${ns}`, result_chord_retry_interval: 0.05 });
  const add = app.task((x: number, y: number) => x + y, { name: 'bi.add' });
  const xsum = app.task((xs: number[]) => xs.reduce((a, b) => a + b, 0), { name: 'bi.xsum' });
  const errors: unknown[][] = [];
  app.task((...args: unknown[]) => {
    errors.push(args);
    return args;
  }, { name: 'bi.record' });
  app.task((m: string) => {
    throw new RangeError(m);
  }, { name: 'bi.fail' });
  let gate!: () => void;
  const opened = new Promise<void>((r) => (gate = r));
  app.task(async (x: number) => {
    await opened;
    return x;
  }, { name: 'bi.gated' });
  const worker = new Worker(app, { banner: false, concurrency: 4 });
  await worker.start();
  stop.push(() => app.close(), () => worker.stop('cold'));
  return { app, add, xsum, errors, gate };
}

describe('Celery\'s built-in tasks', () => {
  it('are registered on every app and hidden from the task list as Python hides them', () => {
    const app = new Celery('plain', { broker: 'memory://plain' });
    stop.push(() => app.close());
    for (const name of BUILTIN_TASK_NAMES) expect(app.tasks.has(name)).toBe(true);
  });

  it('celery.accumulate returns its args, or the one at index', async () => {
    const { app } = await setup();
    expect(await (await app.sendTask('celery.accumulate', [1, 2, 3])).get(T)).toEqual([1, 2, 3]);
    expect(await (await app.sendTask('celery.accumulate', [1, 2, 3], { index: 1 })).get(T)).toBe(2);
  });

  it('celery.map and celery.starmap call the task for each item in one worker', async () => {
    const { app } = await setup();
    const task = app.signature('bi.xsum').toDict();
    expect(await (await app.sendTask('celery.map', [], { task, it: [[1, 2], [3, 4]] })).get(T)).toEqual([3, 7]);
    expect(await (await app.sendTask('celery.starmap', [], { task: app.signature('bi.add').toDict(), it: [[1, 2], [3, 4]] })).get(T)).toEqual([3, 7]);
  });

  it('celery.chunks sends a group of starmaps and returns it as a result tuple', async () => {
    const { app } = await setup();
    const tuple = await (await app.sendTask('celery.chunks', [app.signature('bi.add').toDict(), [[1, 2], [3, 4], [5, 6]], 2])).get(T);
    const group = app.resultFromTuple(tuple) as GroupResult;
    expect(group).toBeInstanceOf(GroupResult);
    expect(await group.get(T)).toEqual([[3, 7], [11]]);
  });

  it('celery.group applies each member with the group id and the partial args', async () => {
    const { app } = await setup();
    const members = [app.signature('bi.add', [1]).set({ task_id: 'm1' }), app.signature('bi.add', [2]).set({ task_id: 'm2' })];
    const tuple = [['g1', null], [[['m1', null], null], [['m2', null], null]]];
    await app.sendTask('celery.group', [members.map((m) => m.toDict()), tuple, 'g1', [10]]);
    const group = app.resultFromTuple(tuple) as GroupResult;
    expect(await group.get(T)).toEqual([11, 12]);
    expect((await (await app.getBackend()).get('m1'))?.group_id).toBe('g1');
  });

  it('celery.chain is not a real task: NotImplementedError, as in Celery', async () => {
    const { app } = await setup();
    const err = (await (await app.sendTask('celery.chain', [])).get({ ...T, propagate: false })) as RemoteTaskError;
    expect(err.excType).toBe('NotImplementedError');
  });

  it('celery.chord runs a chord from its header list and body', async () => {
    const { app } = await setup();
    const header = [app.signature('bi.add', [1, 1]).toDict(), app.signature('bi.add', [2, 2]).toDict()];
    const body = app.signature('bi.xsum').set({ task_id: 'chord-body' }).toDict();
    await app.sendTask('celery.chord', [], { header, body, kwargs: {} });
    expect(await app.AsyncResult('chord-body').get(T)).toBe(6);
  });

  it('celery.chord_unlock retries until the group is ready, then calls the body with the values', async () => {
    const { app, gate } = await setup();
    const [a, b] = [await app.sendTask('bi.gated', [1]), await app.sendTask('bi.add', [2, 3])];
    const body = app.signature('bi.xsum').set({ task_id: 'unlocked-body' }).toDict();
    let retries = 0;
    app.signals.connect('task_retry', ({ name }) => void (name === 'celery.chord_unlock' && retries++));
    const unlock = await app.sendTask('celery.chord_unlock', ['gid', body], { interval: 0.05, max_retries: null, result: [a.asTuple(), b.asTuple()] });
    // While the group is not ready it retries (nothing stored: it ignores its result, as in Celery); the body waits.
    await expect.poll(() => retries, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(await app.AsyncResult('unlocked-body').state()).toBe('PENDING');
    expect(await unlock.state()).toBe('PENDING');
    gate();
    expect(await app.AsyncResult('unlocked-body').get(T)).toBe(6);
  });

  it('celery.chord_unlock fails the body with ChordError naming the failed member, and runs its errback', async () => {
    const { app, errors } = await setup();
    const bad = await app.sendTask('bi.fail', ['boom']);
    const good = await app.sendTask('bi.add', [1, 1]);
    const body = app.signature('bi.xsum').set({ task_id: 'failed-body', link_error: [app.signature('bi.record').toDict()] }).toDict();
    await app.sendTask('celery.chord_unlock', ['gid2', body], { result: [good.asTuple(), bad.asTuple()], interval: 0.05 });
    const err = (await app.AsyncResult('failed-body').get({ ...T, propagate: false })) as RemoteTaskError;
    expect(err.excType).toBe('ChordError');
    expect(err.excMessage).toEqual([`Dependency ${bad.id} raised RangeError('boom')`]);
    await expect.poll(() => errors, { timeout: 10_000 }).toEqual([['failed-body']]);
  });

  it('celery.backend_cleanup runs (a key-value backend expires keys by itself)', async () => {
    const { app } = await setup();
    expect(await (await app.sendTask('celery.backend_cleanup', [])).get(T)).toBeNull();
  });

  it('a builtin called with arguments Python would refuse fails with Python\'s TypeError', async () => {
    const { app } = await setup();
    const err = (await (await app.sendTask('celery.map', [], { task: app.signature('bi.add').toDict() })).get({ ...T, propagate: false })) as RemoteTaskError;
    expect(err.excType).toBe('TypeError');
    expect(String(err.excMessage)).toMatch(/missing 1 required positional argument: 'it'/);
  });
});
