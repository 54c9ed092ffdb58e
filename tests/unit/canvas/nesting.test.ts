// Canvas that composes: any nesting of chain, group and chord, as Celery 5.2.6 runs them (the expected values were
// checked against Debian's Python Celery running the same canvas). Memory broker and backend, an in-process worker.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AsyncResult, Celery, chain, chord, chunks, group, GroupResult, type AnySignature, type ResultHandle } from '../../../src/index.js';
import { Worker } from '../../../src/worker/worker.js';

let stop: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of stop.reverse()) await fn();
  stop = [];
});

async function setup(options: Record<string, unknown> = {}) {
  const ns = randomUUID();
  const app = new Celery('nest', { broker: `memory://${ns}`, backend: `memory://${ns}`, ...options });
  const add = app.task((x: number, y: number) => x + y, { name: 'nest.add' });
  const mul = app.task((x: number, y: number) => x * y, { name: 'nest.mul' });
  const xsum = app.task((xs: number[]) => xs.reduce((a, b) => a + b, 0), { name: 'nest.xsum' });
  const record = app.task((...args: unknown[]) => ({ args }), { name: 'nest.record' });
  const replacements = new Map<string, () => AnySignature>();
  const replaceWith = app.task(function replaceWith(self, key: string) {
    return self.replace(replacements.get(key)!());
  }, { name: 'nest.replace_with', bind: true });
  const worker = new Worker(app, { banner: false, concurrency: 4 });
  await worker.start();
  stop.push(() => app.close(), () => worker.stop('cold'));
  return { app, add, mul, xsum, record, replaceWith, replacements };
}

/** get() waits in seconds, as Celery's. */
const T = { timeout: 10 };

/** A result fully resolved: a GroupResult becomes the list of its members' values, nested too. */
async function resolve(r: ResultHandle): Promise<unknown> {
  if (r instanceof GroupResult) return Promise.all(r.results.map(resolve));
  return r.get(T);
}

type Tasks = Awaited<ReturnType<typeof setup>>;

// Each shape with the value Python Celery 5.2.6 gives for it (tests/interop/py_canvas.py canvas … on a Python worker).
const SHAPES: Array<[string, (t: Tasks) => AnySignature, unknown]> = [
  ['chord([chord([add(1,1), add(2,2)], xsum), add(10,10)], xsum)', ({ add, xsum }) => chord([chord([add.s(1, 1), add.s(2, 2)], xsum.s()), add.s(10, 10)], xsum.s()), 26],
  ['group(chord([add(1,1), add(2,2)], xsum), chain(add(1,1), mul(3)))', ({ add, mul, xsum }) => group(chord([add.s(1, 1), add.s(2, 2)], xsum.s()), chain(add.s(1, 1), mul.s(3))), [6, 6]],
  ['chain(add(1,1), group(add(1), add(2)), xsum, mul(10))', ({ add, mul, xsum }) => chain(add.s(1, 1), group(add.s(1), add.s(2)), xsum.s(), mul.s(10)), 70],
  ['chain(add(2,2), group(add(1), mul(3))) ends in a GroupResult', ({ add, mul }) => chain(add.s(2, 2), group(add.s(1), mul.s(3))), [5, 12]],
  ['chain(group(add(1,1), add(2,2)), xsum)', ({ add, xsum }) => chain(group(add.s(1, 1), add.s(2, 2)), xsum.s()), 6],
  ['chain(chain(add(1,1), add(2)), chain(mul(3), add(1)))', ({ add, mul }) => chain(chain(add.s(1, 1), add.s(2)), chain(mul.s(3), add.s(1))), 13],
  ['chord([group(add(1,1), add(2,2)), add(3,3)], xsum) unrolls the nested group', ({ add, xsum }) => chord([group(add.s(1, 1), add.s(2, 2)), add.s(3, 3)], xsum.s()), 12],
  ['chain(add(1,1), add.si(100,100), mul(2)): an immutable step ignores the parent', ({ add, mul }) => chain(add.s(1, 1), add.si(100, 100), mul.s(2)), 400],
  ['chunks(add, [[1,2],[3,4],[5,6]], 2)', ({ add }) => chunks(add.s(), [[1, 2], [3, 4], [5, 6]], 2), [[3, 7], [11]]],
  ['xsum.map([[1,2],[3,4]])', ({ xsum }) => xsum.map([[1, 2], [3, 4]]), [3, 7]],
  ['add.starmap([[1,2],[3,4]])', ({ add }) => add.starmap([[1, 2], [3, 4]]), [3, 7]],
  ['group(chain(group(add(1,1), add(2,2)), xsum), add(5,5))', ({ add, xsum }) => group(chain(group(add.s(1, 1), add.s(2, 2)), xsum.s()), add.s(5, 5)), [6, 10]],
  // A nested group in a chord header or a chain step is unrolled last member first, at every level (Celery 5's
  // group.freeze): the body sees Python's order.
  ['chord([group(chain(add(1,1), mul(2)), chain(add(2,2), mul(3))), add(5,5)], record): [12, 4, 10]', ({ add, mul, record }) => chord([group(chain(add.s(1, 1), mul.s(2)), chain(add.s(2, 2), mul.s(3))), add.s(5, 5)], record.s()), { args: [[12, 4, 10]] }],
  ['chain(add(1,1), group(group(add(1), add(2)), add(3)), record): [4, 3, 5]', ({ add, record }) => chain(add.s(1, 1), group(group(add.s(1), add.s(2)), add.s(3)), record.s()), { args: [[4, 3, 5]] }],
  ['chord([group(group(add(1,1), add(2,2)), add(3,3)), add(4,4)], record): two levels reversed', ({ add, record }) => chord([group(group(add.s(1, 1), add.s(2, 2)), add.s(3, 3)), add.s(4, 4)], record.s()), { args: [[6, 4, 2, 8]] }],
  ['group(group(add(1,1), add(2,2)), add(3,3)) applied directly keeps its order', ({ add }) => group(group(add.s(1, 1), add.s(2, 2)), add.s(3, 3)), [2, 4, 6]],
];

describe('nested canvas', () => {
  it.each(SHAPES)('%s', async (_name, build, expected) => {
    const tasks = await setup();
    expect(await resolve(await build(tasks).applyAsync())).toEqual(expected);
  });

  it('a group of chains gives each chain\'s last value: [12, 24]', async () => {
    const { add, mul } = await setup();
    const g = await group(chain(add.s(2, 4), mul.s(2)), chain(add.s(4, 8), mul.s(2))).applyAsync();
    expect(g).toBeInstanceOf(GroupResult);
    expect(await g.get(T)).toEqual([12, 24]);
  });

  it('a chain inside a chord header reports through its last step: 22', async () => {
    const { add, mul, xsum } = await setup();
    const r = await chord([chain(add.s(2, 4), mul.s(2)), add.s(4, 6)], xsum.s()).applyAsync();
    expect(await r.get(T)).toBe(22);
  });

  it('a group inside a chain becomes a chord over the next step: 34', async () => {
    const { add, mul, xsum } = await setup();
    const r = await chain(add.s(2, 2), group(add.s(10), mul.s(5)), xsum.s()).applyAsync();
    expect(await r.get(T)).toBe(34);
  });
});

describe('replace (Celery\'s self.replace)', () => {
  it('a task replaced by a chain takes the chain\'s last value under its own id: 20', async () => {
    const { add, mul, replaceWith, replacements } = await setup();
    replacements.set('c', () => chain(add.s(1, 1), mul.s(10)));
    const r = await replaceWith.delay('c');
    expect(await r.get(T)).toBe(20);
  });

  it('a task replaced by a group returns the list of the group\'s values: [2, 4]', async () => {
    const { add, replaceWith, replacements } = await setup();
    replacements.set('g', () => group(add.s(1, 1), add.s(2, 2)));
    expect(await (await replaceWith.delay('g')).get(T)).toEqual([2, 4]);
  });

  it('a replaced chord header member still reports its part: 22', async () => {
    const { add, mul, xsum, replaceWith, replacements } = await setup();
    replacements.set('h', () => chain(add.s(5, 5), mul.s(2)));
    expect(await (await chord([add.s(1, 1), replaceWith.s('h')], xsum.s()).applyAsync()).get(T)).toBe(22);
  });

  it('a replaced chain step continues the chain after the replacement: (5+5)*3 = 30', async () => {
    const { add, mul, replaceWith, replacements } = await setup();
    replacements.set('s', () => add.s(5, 5));
    expect(await (await chain(add.s(1, 1), replaceWith.si('s'), mul.s(3)).applyAsync()).get(T)).toBe(30);
  });
});

describe('task_always_eager', () => {
  it('runs nested canvases in this process, with Celery\'s values and no worker', async () => {
    const app = new Celery('eager', { broker: `memory://${randomUUID()}`, task_always_eager: true });
    stop.push(() => app.close());
    const add = app.task((x: number, y: number) => x + y, { name: 'eager.add' });
    const mul = app.task((x: number, y: number) => x * y, { name: 'eager.mul' });
    const xsum = app.task((xs: number[]) => xs.reduce((a, b) => a + b, 0), { name: 'eager.xsum' });
    expect(await (await chain(add.s(2, 2), group(add.s(10), mul.s(5)), xsum.s()).applyAsync()).get()).toBe(34);
    expect(await (await chord([chain(add.s(2, 4), mul.s(2)), add.s(4, 6)], xsum.s()).applyAsync()).get()).toBe(22);
    expect(await (await group(chain(add.s(2, 4), mul.s(2)), chain(add.s(4, 8), mul.s(2))).applyAsync()).get()).toEqual([12, 24]);
    const r = await chain(add.s(1, 1), mul.s(3)).applyAsync();
    expect(await r.parent?.get()).toBe(2);
  });
});
