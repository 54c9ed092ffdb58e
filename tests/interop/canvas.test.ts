// Canvas and Celery's built-in tasks across Python Celery 5.2.6 and celeriac, both directions, on a private Redis:
// the same nested canvases give the same values whoever sends and whoever runs them; every celery.* builtin
// Python sends runs on a celeriac worker and every one celeriac sends runs on a Python worker; a Python client's
// chord over a SQL result backend completes on a celeriac worker through celery.chord_unlock.

import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery, chain, chord, chunks, group, GroupResult, type AnySignature, type RemoteTaskError, type ResultHandle } from '../../src/index.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import { repoRoot, sharedDir } from '../support/shared.js';
import { startCeleriacWorker, watch, type Proc, type Urls } from './harness.js';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const PY_CANVAS = join(repoRoot, 'tests/interop/py_canvas.py');
const HARNESS = join(sharedDir, 'protocol/interop/py_celery.py');
const FIXTURE = join(repoRoot, 'tests/fixtures/canvas-app.ts');
/** get() waits in seconds, as Celery's. */
const T = { timeout: 30 };
/** A test that starts Python Celery (its import alone takes seconds on a loaded machine). */
const PY_TIMEOUT = 150_000;

interface Outcome { id: string; type: string; state: string; result: unknown }

async function pyCanvas<O = Outcome>(urls: Urls, args: string[]): Promise<O> {
  const { stdout } = await run(PYTHON, [PY_CANVAS, '--harness', HARNESS, ...args, '--broker', urls.broker, '--backend', urls.backend], { timeout: 120_000, maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as O;
}

type Spec = { task?: string; args?: unknown[]; kwargs?: Record<string, unknown>; immutable?: boolean; chain?: Spec[]; group?: Spec[]; chord?: Spec[]; body?: Spec; chunks?: string; map?: string; starmap?: string; it?: unknown[]; n?: number };

const add = (...args: number[]): Spec => ({ task: 'interop.add', args });
const mul = (...args: number[]): Spec => ({ task: 'interop.mul', args });
const xsum: Spec = { task: 'interop.xsum' };
const echo: Spec = { task: 'interop.echo' };

/** Each canvas with the value Python Celery 5.2.6 gives when Python sends it and Python runs it. */
const SHAPES: Array<[string, Spec, unknown]> = [
  ['group of chains', { group: [{ chain: [add(2, 4), mul(2)] }, { chain: [add(4, 8), mul(2)] }] }, [12, 24]],
  ['chain inside a chord header', { chord: [{ chain: [add(2, 4), mul(2)] }, add(4, 6)], body: xsum }, 22],
  ['group inside a chain', { chain: [add(2, 2), { group: [add(10), mul(5)] }, xsum] }, 34],
  ['group inside a chain, steps after the chord', { chain: [add(1, 1), { group: [add(1), add(2)] }, xsum, mul(10)] }, 70],
  ['chain ending in a group', { chain: [add(2, 2), { group: [add(1), mul(3)] }] }, [5, 12]],
  ['chord inside a chord header', { chord: [{ chord: [add(1, 1), add(2, 2)], body: xsum }, add(10, 10)], body: xsum }, 26],
  ['chord and chain inside a group', { group: [{ chord: [add(1, 1), add(2, 2)], body: xsum }, { chain: [add(1, 1), mul(3)] }] }, [6, 6]],
  ['chain of chains', { chain: [{ chain: [add(1, 1), add(2)] }, { chain: [mul(3), add(1)] }] }, 13],
  ['immutable step', { chain: [add(1, 1), { task: 'interop.add', args: [100, 100], immutable: true }, mul(2)] }, 400],
  ['chunks', { chunks: 'interop.add', it: [[1, 2], [3, 4], [5, 6]], n: 2 }, [[3, 7], [11]]],
  ['map', { map: 'interop.xsum', it: [[1, 2], [3, 4]] }, [3, 7]],
  ['starmap', { starmap: 'interop.add', it: [[1, 2], [3, 4]] }, [3, 7]],
  ['replaced by a chain', { task: 'canvas.replace_with', args: [{ chain: [add(1, 1), mul(10)] }] }, 20],
  ['replaced by a group', { task: 'canvas.replace_with', args: [{ group: [add(1, 1), add(2, 2)] }] }, [2, 4]],
  ['replaced chord header member', { chord: [add(1, 1), { task: 'canvas.replace_with', args: [{ chain: [add(5, 5), mul(2)] }] }], body: xsum }, 22],
  ['replaced chain step', { chain: [add(1, 1), { task: 'canvas.replace_with', args: [add(5, 5)], immutable: true }, mul(3)] }, 30],
  // Nested groups frozen into a chord header or a chain step come last member first, at every level.
  ['nested group in a chord header', { chord: [{ group: [{ chain: [add(1, 1), mul(2)] }, { chain: [add(2, 2), mul(3)] }] }, add(5, 5)], body: echo }, { args: [[12, 4, 10]], kwargs: {} }],
  ['nested group in a chain step', { chain: [add(1, 1), { group: [{ group: [add(1), add(2)] }, add(3)] }, echo] }, { args: [[4, 3, 5]], kwargs: {} }],
  ['two levels of nested groups in a chord header', { chord: [{ group: [{ group: [add(1, 1), add(2, 2)] }, add(3, 3)] }, add(4, 4)], body: echo }, { args: [[6, 4, 2, 8]], kwargs: {} }],
  ['group of chords', { group: [{ chord: [add(1, 1), add(2, 2)], body: xsum }, { chord: [add(3, 3)], body: xsum }] }, [6, 6]],
  ['chord inside a chain', { chain: [add(1, 1), { chord: [add(1), add(2)], body: echo }, echo] }, { args: [{ args: [[3, 4]], kwargs: {} }], kwargs: {} }],
  ['chain ending in a group, inside a group in a chain step', { chain: [add(1, 1), { group: [{ chain: [add(1), { group: [mul(2), mul(3)] }] }, add(5)] }, echo] }, { args: [[[6, 9], 7]], kwargs: {} }],
  ['chain ending in a group inside a chord header', { chord: [{ chain: [add(1, 1), { group: [add(1), add(2)] }] }, add(10, 10)], body: echo }, { args: [[[3, 4], 20]], kwargs: {} }],
  ['nested group applied directly', { group: [{ group: [add(1, 1), add(2, 2)] }, add(3, 3)] }, [2, 4, 6]],
];

function build(app: Celery, spec: Spec): AnySignature {
  if (spec.chain) return chain(...spec.chain.map((s) => build(app, s)));
  if (spec.group) return group(...spec.group.map((s) => build(app, s)));
  if (spec.chord) return chord(spec.chord.map((s) => build(app, s)), build(app, spec.body!));
  if (spec.chunks) return chunks(app.signature(spec.chunks), spec.it as unknown[][], spec.n!);
  if (spec.map) return app.tasks.get(spec.map).map(spec.it!);
  if (spec.starmap) return app.tasks.get(spec.starmap).starmap(spec.it as unknown[][]);
  return app.signature(spec.task!, spec.args ?? [], spec.kwargs ?? {}).setImmutable(spec.immutable ?? false);
}

async function resolve(r: ResultHandle): Promise<unknown> {
  return r instanceof GroupResult ? Promise.all(r.results.map(resolve)) : r.get(T);
}

let redis: RedisServer;
const urlsAt = (db: number): Urls => ({ broker: redis.url.replace(/\/0$/, `/${db}`), backend: redis.url.replace(/\/0$/, `/${db + 1}`) });
beforeAll(async () => {
  redis = await startRedis();
}, 60_000);
afterAll(async () => {
  await redis?.stop();
});

describe('Python client → celeriac worker', () => {
  let worker: Proc;
  beforeAll(async () => {
    worker = await startCeleriacWorker(urlsAt(0), ['-n', 'ts@canvas'], FIXTURE);
  }, 60_000);
  afterAll(async () => {
    expect(await worker?.stop()).toBe(0);
  });

  it('runs every nested canvas Python sends and Python reads Celery\'s values', async () => {
    const outcomes = await pyCanvas<Outcome[]>(urlsAt(0), ['canvas', JSON.stringify(SHAPES.map(([, spec]) => spec))]);
    expect(outcomes.map((o, i) => [SHAPES[i]![0], o.result])).toEqual(SHAPES.map(([name, , value]) => [name, value]));
  }, PY_TIMEOUT);

  it('runs the celery.* builtins Python sends', async () => {
    const header = [{ task: 'interop.add', args: [1, 1], kwargs: {}, options: {}, subtask_type: null, immutable: false }, { task: 'interop.add', args: [2, 2], kwargs: {}, options: {}, subtask_type: null, immutable: false }];
    const body = { task: 'interop.xsum', args: [], kwargs: {}, options: { task_id: 'py-chord-body' }, subtask_type: null, immutable: false };
    const members = header.map((h, i) => ({ ...h, args: [i], options: { task_id: `py-group-m${i}` } }));
    const tuple = [['py-group', null], [[['py-group-m0', null], null], [['py-group-m1', null], null]]];
    const sends = [
      ['celery.accumulate', [1, 2, 3], { index: 2 }],
      ['celery.backend_cleanup', [], {}],
      ['celery.chain', [], {}],
      ['celery.chord', [], { header, body }],
      ['celery.group', [members, tuple, 'py-group', [10]], {}],
    ];
    const [accumulate, cleanup, chained, chorded, grouped] = await pyCanvas<Outcome[]>(urlsAt(0), ['send', '-', JSON.stringify(sends)]);
    expect(accumulate!.result).toBe(3);
    expect(cleanup!.state).toBe('SUCCESS');
    expect(chained!.result).toMatchObject({ exc_type: 'NotImplementedError' });
    expect(chorded!.result).toBe(6);
    expect(grouped!.result).toEqual([10, 11]);
  }, PY_TIMEOUT);
});

describe('Python client\'s chord over a SQL result backend → celeriac worker', () => {
  let worker: Proc;
  let dir: string;
  let urls: Urls;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'celeriac-chord-unlock-'));
    urls = { broker: urlsAt(4).broker, backend: `db+sqlite:///${join(dir, 'results.db')}` };
    worker = await startCeleriacWorker(urls, ['-n', 'ts@canvas-sql'], FIXTURE);
  }, 60_000);
  afterAll(async () => {
    expect(await worker?.stop()).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes through celery.chord_unlock, which retries until the header is ready', async () => {
    const out = await pyCanvas(urls, ['canvas', JSON.stringify({ chord: [add(1, 1), add(2, 2), add(3, 3)], body: xsum })]);
    expect(out).toMatchObject({ state: 'SUCCESS', result: 12 });
    expect(worker.output()).toMatch(/celery\.chord_unlock\[[^\]]+\] received/);
  }, PY_TIMEOUT);
});

describe('celeriac client → Python worker', () => {
  let worker: Proc;
  let app: Celery;
  beforeAll(async () => {
    const urls = urlsAt(6);
    worker = await watch(spawn(PYTHON, [PY_CANVAS, '--harness', HARNESS, 'worker', '--broker', urls.broker, '--backend', urls.backend], { stdio: ['ignore', 'pipe', 'pipe'] }), /ready\./, 'Python worker');
    app = new Celery('client', { broker: urls.broker, backend: urls.backend });
    for (const name of ['interop.add', 'interop.mul', 'interop.xsum', 'interop.echo']) app.task(() => 0, { name });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    expect(await worker?.stop()).toBe(0);
  });

  it('Python runs every nested canvas celeriac sends, with Celery\'s values', async () => {
    const got: Array<[string, unknown]> = [];
    for (const [name, spec] of SHAPES) got.push([name, await resolve(await build(app, spec).applyAsync())]);
    expect(got).toEqual(SHAPES.map(([name, , value]) => [name, value]));
  }, PY_TIMEOUT);

  it('Python runs the celery.* builtins celeriac sends', async () => {
    const value = async (name: string, args: unknown[], kwargs: Record<string, unknown> = {}) => (await app.sendTask(name, args, kwargs)).get({ ...T, propagate: false });
    expect(await value('celery.accumulate', [1, 2, 3])).toEqual([1, 2, 3]);
    expect(await value('celery.map', [], { task: app.signature('interop.xsum').toDict(), it: [[1, 2], [3, 4]] })).toEqual([3, 7]);
    expect(await value('celery.starmap', [], { task: app.signature('interop.add').toDict(), it: [[1, 2]] })).toEqual([3]);
    expect(app.resultFromTuple(await value('celery.chunks', [app.signature('interop.add').toDict(), [[1, 2], [3, 4]], 1]))).toBeInstanceOf(GroupResult);
    expect(((await value('celery.chain', [])) as RemoteTaskError).excType).toBe('NotImplementedError');
    expect(await value('celery.backend_cleanup', [])).toBeNull();
    const body = app.signature('interop.xsum').set({ task_id: `ts-chord-body-${Date.now()}` });
    await app.sendTask('celery.chord', [], { header: [app.signature('interop.add', [1, 1]).toDict(), app.signature('interop.add', [2, 2]).toDict()], body: body.toDict() });
    expect(await app.AsyncResult(body.id!).get(T)).toBe(6);
    const done = [await app.sendTask('interop.add', [5, 5]), await app.sendTask('interop.add', [6, 6])];
    const unlocked = app.signature('interop.xsum').set({ task_id: `ts-unlocked-${Date.now()}` });
    await app.sendTask('celery.chord_unlock', ['ts-gid', unlocked.toDict()], { result: done.map((r) => r.asTuple()), interval: 0.1, max_retries: null });
    expect(await app.AsyncResult(unlocked.id!).get(T)).toBe(22);
    const members = [app.signature('interop.add', [1]).set({ task_id: `ts-g-${Date.now()}` })];
    await app.sendTask('celery.group', [members.map((m) => m.toDict()), [['ts-g', null], [[[members[0]!.id, null], null]]], 'ts-g', [41]]);
    expect(await app.AsyncResult(members[0]!.id!).get(T)).toBe(42);
  }, PY_TIMEOUT);
});
