import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Celery, chain, chord, group, GroupResult } from '../../../src/index.js';
import { Worker } from '../../../src/worker/worker.js';
import { RemoteTaskError } from '../../../src/errors.js';

let stop: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of stop.reverse()) await fn();
  stop = [];
});

async function setup() {
  const ns = randomUUID();
  const app = new Celery('canvas', { broker: `memory://${ns}`, backend: `memory://${ns}` });
  const add = app.task((x: number, y: number) => x + y, { name: 'canvas.add' });
  const mul = app.task((x: number, y: number) => x * y, { name: 'canvas.mul' });
  const xsum = app.task((xs: number[]) => xs.reduce((a, b) => a + b, 0), { name: 'canvas.xsum' });
  const fail = app.task((m: string) => {
    throw new RangeError(m);
  }, { name: 'canvas.fail' });
  const worker = new Worker(app, { banner: false, concurrency: 4 });
  await worker.start();
  stop.push(() => worker.stop('cold'));
  return { app, add, mul, xsum, fail };
}

describe('canvas', () => {
  it('chain passes each result on and returns the last step', async () => {
    const { add, mul } = await setup();
    const r = await chain(add.s(1, 2), add.s(3), mul.s(10)).applyAsync();
    expect(await r.get({ timeout: 5 })).toBe(60);
  });

  it('group runs members in parallel; results in order; save and restore', async () => {
    const { app, add } = await setup();
    const g = await group(add.s(1, 1), add.s(2, 2), add.s(3, 3)).applyAsync();
    expect(await g.get({ timeout: 5 })).toEqual([2, 4, 6]);
    expect(await g.successful()).toBe(true);
    expect(await g.completedCount()).toBe(3);
    await g.save();
    const restored = await GroupResult.restore(g.id, app);
    expect(restored?.results.map((r) => r.id)).toEqual(g.results.map((r) => r.id));
  });

  it('chord sends the ordered header results to the body exactly once', async () => {
    const { add, xsum } = await setup();
    const r = await chord([add.s(1, 1), add.s(2, 2), add.s(3, 3), add.s(4, 4)], xsum.s()).applyAsync();
    expect(await r.get({ timeout: 5 })).toBe(20);
  });

  it('a failed chord member fails the body with ChordError', async () => {
    const { add, xsum, fail } = await setup();
    const r = await chord([add.s(1, 1), fail.s('inchord')], xsum.s()).applyAsync();
    const err = (await r.get({ timeout: 5, propagate: false })) as unknown as RemoteTaskError;
    expect(err.excType).toBe('ChordError');
    expect(String(err.excMessage)).toMatch(/raised RangeError/);
  });
});
