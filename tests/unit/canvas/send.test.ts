// Every send routed the same way, canvas options where Celery puts them, and canvases that cannot run refused
// before anything of them is sent. Memory broker; messages are read back from the queues.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Celery, chain, chord, chunks, group, ImproperlyConfigured, Signature } from '../../../src/index.js';
import { applySignatureDict } from '../../../src/canvas/wire.js';
import { acceptSet } from '../../../src/protocol/serializers.js';
import { parseTaskMessage } from '../../../src/protocol/task-message.js';
import { Worker } from '../../../src/worker/worker.js';

let stop: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of stop.reverse()) await fn();
  stop = [];
});

function makeApp(options: Record<string, unknown> = {}, withBackend = true) {
  const ns = randomUUID();
  const app = new Celery('send', { broker: `memory://${ns}`, ...(withBackend ? { backend: `memory://${ns}` } : {}), ...options });
  stop.push(() => app.close());
  const add = app.task((x: number, y: number) => x + y, { name: 'send.add' });
  const xsum = app.task((xs: number[]) => xs.reduce((a, b) => a + b, 0), { name: 'send.xsum' });
  const onA = app.task((x: number) => x * 10, { name: 'send.on_a', queue: 'queue-a', priority: 3 });
  return { app, add, xsum, onA };
}

/** Every message waiting in `queue`, decoded, oldest first. */
async function drain(app: Celery, queue: string) {
  const transport = await app.getTransport();
  const out: Array<ReturnType<typeof parseTaskMessage>> = [];
  const sub = await transport.subscribe([queue], (d) => {
    out.push(parseTaskMessage(d.message, acceptSet(['json'])));
    void d.ack();
  }, { prefetch: 100 });
  const deadline = Date.now() + 300;
  while (Date.now() < deadline) await new Promise((r) => setImmediate(r));
  await sub.cancel();
  return out;
}

describe('every send is routed as the task declares', () => {
  it('signatures, sendTask, group and chain members of a task declared on queue-a all go to queue-a', async () => {
    const { app, onA } = makeApp();
    await onA.s(1).delay();
    await app.sendTask('send.on_a', [2]);
    await group(onA.s(3), onA.s(4)).applyAsync();
    await chain(onA.s(5), onA.s()).applyAsync();
    const sent = await drain(app, 'queue-a');
    expect(sent.map((m) => m.args[0])).toEqual([1, 2, 3, 4, 5]);
    expect(await drain(app, 'celery')).toEqual([]);
  });

  it('explicit options win over declared ones; task_routes apply to tasks that declare nothing', async () => {
    const { app, add, onA } = makeApp({ task_routes: { 'send.add': { queue: 'routed' }, 'send.on_a': { queue: 'ignored' } } });
    await add.s(1, 1).delay();
    await onA.s(1).applyAsync([], {}, { queue: 'explicit' });
    await onA.s(2).delay();
    expect((await drain(app, 'routed')).length).toBe(1);
    expect((await drain(app, 'explicit')).length).toBe(1);
    expect((await drain(app, 'queue-a')).length).toBe(1);
    expect(await drain(app, 'ignored')).toEqual([]);
  });

  it('task_annotations rewrite declared options, as Celery\'s do', () => {
    const app = new Celery('ann', { broker: 'memory://ann', task_annotations: { 'ann.t': { queue: 'from-annotation' } } });
    stop.push(() => app.close());
    const t = app.task(() => 1, { name: 'ann.t', queue: 'declared' });
    expect(t.options.queue).toBe('from-annotation');
  });

  it('with workers only on queue-a, a signature, a group, a chain and a chord of queue-a tasks all complete', async () => {
    const { app, onA } = makeApp();
    const sum = app.task((xs: number[]) => xs.reduce((a, b) => a + b, 0), { name: 'send.sum_a', queue: 'queue-a' });
    const worker = new Worker(app, { banner: false, queues: ['queue-a'] });
    await worker.start();
    stop.push(() => worker.stop('cold'));
    const T = { timeout: 10 };
    expect(await (await onA.s(2).delay()).get(T)).toBe(20);
    expect(await (await group(onA.s(1), onA.s(2)).applyAsync()).get(T)).toEqual([10, 20]);
    expect(await (await chain(onA.s(1), onA.s(), onA.s()).applyAsync()).get(T)).toBe(1000);
    expect(await (await chord([onA.s(1), onA.s(2)], sum.s()).applyAsync()).get(T)).toBe(30);
  });
});

describe('options given to a composite go where Celery puts them', () => {
  it('chain: queue and priority to the first step, task_id to the last, link_error to every step', async () => {
    const { app, add } = makeApp();
    const err = add.s(0, 0);
    const r = await chain(add.s(1, 1), add.s(2)).applyAsync([], {}, { queue: 'first', priority: 7, taskId: 'last-id', linkError: err });
    expect(r.id).toBe('last-id');
    const [first] = await drain(app, 'first');
    expect(first!.embed.errbacks?.map((e) => e.task)).toEqual(['send.add']);
    const [next] = first!.embed.chain!;
    expect(next!.options.task_id).toBe('last-id');
    expect((next!.options.link_error as unknown[]).length).toBe(1);
    expect(next!.options.queue).toBeUndefined();
  });

  it('group: options go to every member, taskId is the group id', async () => {
    const { app, add } = makeApp();
    const g = await group(add.s(1, 1), add.s(2, 2)).applyAsync([], {}, { queue: 'g', taskId: 'gid' });
    expect(g.id).toBe('gid');
    const sent = await drain(app, 'g');
    expect(sent.map((m) => m.group)).toEqual(['gid', 'gid']);
  });

  it('chord: header members and body both get the options; the body keeps link and task_id', async () => {
    const { app, add, xsum } = makeApp();
    const r = await chord([add.s(1, 1)], xsum.s()).applyAsync([], {}, { queue: 'c', taskId: 'body-id', link: add.s(1) });
    expect(r.id).toBe('body-id');
    const [member] = await drain(app, 'c');
    expect(member!.embed.chord).toMatchObject({ task: 'send.xsum', options: { task_id: 'body-id', queue: 'c' } });
    expect(member!.embed.callbacks).toBeNull();
    expect(member!.embed.chord!.options.link).toMatchObject({ task: 'send.add', args: [1] });
  });

  it('results keep Celery\'s parent links: chain → previous step, chord body → header group', async () => {
    const { add, xsum } = makeApp();
    const r = await chain(add.s(1, 1), add.s(2), chord([add.s(3), add.s(4)], xsum.s())).applyAsync();
    const header = r.parent!;
    expect(header.asTuple()[1]).toHaveLength(2);
    expect(header.parent?.parent?.parent).toBeNull();
  });
});

describe('a canvas that cannot run is refused at send, with nothing sent', () => {
  it('a chord without a result backend', async () => {
    const { app, add, xsum } = makeApp({}, false);
    const sent = chain(add.s(1, 1), chord([add.s(1), add.s(2)], xsum.s())).applyAsync();
    await expect(sent).rejects.toThrow(ImproperlyConfigured);
    await expect(sent).rejects.toThrow(/chain step 1 is a chord, but no result backend is configured.*result_backend/);
    expect(await drain(app, 'celery')).toEqual([]);
  });

  it('a group followed by a step (a chord) without a result backend, and any chord on rpc://', async () => {
    const { app, add, xsum } = makeApp({}, false);
    await expect(chain(add.s(1, 1), group(add.s(1), add.s(2)), xsum.s()).applyAsync()).rejects.toThrow(/chain step 1 \(a group followed by a step: a chord\) is a chord, but no result backend/);
    const rpc = makeApp({ result_backend: 'rpc://' }, false);
    await expect(chain(rpc.add.s(1, 1), group(rpc.add.s(1), rpc.add.s(2)), rpc.xsum.s()).applyAsync()).rejects.toThrow(/does not support chords.*Nothing was sent/);
    expect(await drain(app, 'celery')).toEqual([]);
    expect(await drain(rpc.app, 'celery')).toEqual([]);
  });

  it('a member naming no task, named by its place', async () => {
    const { app, add } = makeApp();
    const bad = new Signature('', [1], {}, {}, false, app);
    await expect(group(add.s(1, 1), chain(add.s(1, 1), bad)).applyAsync()).rejects.toThrow(/group → group member 1 → chain step 1 names no task/);
    expect(await drain(app, 'celery')).toEqual([]);
  });

  it('a cycle through links', async () => {
    const { app, add } = makeApp();
    const a = add.s(1, 1);
    const b = add.s(2);
    a.link(b);
    b.link(a);
    await expect(chain(a, add.s(3)).applyAsync()).rejects.toThrow(/contains itself/);
    expect(await drain(app, 'celery')).toEqual([]);
  });

  it('a group given a link, an empty chain, a chunk size of 0, an unbound signature', async () => {
    const { app, add } = makeApp();
    await expect(group(add.s(1, 1)).applyAsync([], {}, { link: add.s(1) })).rejects.toThrow(/Use a chord/);
    const empty = chain();
    empty.app = app;
    await expect(empty.applyAsync()).rejects.toThrow(/empty chain/);
    await expect(chunks(add.s(), [[1, 2]], 0).applyAsync()).rejects.toThrow(/chunk size 0/);
    await expect(new Signature('send.add').delay(1, 2)).rejects.toThrow(/not bound to an app/);
    expect(await drain(app, 'celery')).toEqual([]);
  });

  it('signature dicts from the wire: wrong shapes and absurd nesting are refused', async () => {
    const { app } = makeApp();
    await expect(applySignatureDict(app, { task: 'celery.chain', args: [], kwargs: { tasks: 'x' }, options: {}, subtask_type: 'chain', immutable: false })).rejects.toThrow(/kwargs.tasks is string, not a list/);
    await expect(applySignatureDict(app, { task: 'x', args: [], kwargs: {}, options: {}, subtask_type: 'weird', immutable: false })).rejects.toThrow(/subtask_type "weird"/);
    let deep: Record<string, unknown> = { task: 'send.add', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false };
    for (let i = 0; i < 200; i++) deep = { task: 'celery.chain', args: [], kwargs: { tasks: [deep] }, options: {}, subtask_type: 'chain', immutable: false };
    await expect(applySignatureDict(app, deep as never)).rejects.toThrow(/nests deeper than 64 levels/);
    expect(await drain(app, 'celery')).toEqual([]);
  });
});
