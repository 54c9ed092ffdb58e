// Debian's `celery inspect` and `celery control` against a celeriac worker and a Python worker side by side on
// Redis: every reply a celeriac worker sends has the keys and value kinds of the Python worker's reply (what
// Flower reads), and every control command acts on the celeriac worker as it acts on Python's.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../support/shared.js';
import { py as pyHarness, redisUrls, type Proc } from './harness.js';
import { celeryCli, celeryJson, pyTools, shapeOf, startCeleriacToolsWorker, startPythonToolsWorker } from './tools-harness.js';

const run = promisify(execFile);
const urls = redisUrls(inject('redisUrl'), 10);
const PY = 'py@tools-control';
const TS = 'ts@tools-control';
let py: Proc;
let ts: Proc;
/** The long sleeps sent to each worker. */
const ids: Record<string, string[]> = { py: [], ts: [] };

type Sent = { ids: string[]; state?: string; result?: unknown };
const send = (name: string, args: unknown[], queue: string, extra: string[] = []) => pyTools<Sent>(urls, ['send', name, JSON.stringify(args), '--queue', queue, ...extra]);

/** Poll `inspect <command>` until `done` holds for the replies (a handful of CLI round trips at most). */
async function inspectUntil(command: string, done: (r: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  for (let i = 0; i < 30; i++) {
    last = await celeryJson(urls, 'inspect', command);
    if (done(last)) return last;
  }
  throw new Error(`inspect ${command}: ${what} never held; last replies ${JSON.stringify(last).slice(0, 2000)}`);
}

beforeAll(async () => {
  [py, ts] = await Promise.all([
    startPythonToolsWorker(urls, { hostname: PY, queues: 'py-control' }),
    // The threads pool, to compare with Python's threads pool block in stats.
    startCeleriacToolsWorker(urls, { hostname: TS, queues: 'ts-control' }, ['-P', 'threads']),
  ]);
}, 120_000);

afterAll(async () => {
  // Cold: the long sleeps still running are not waited for.
  await Promise.all([py?.stop('SIGQUIT'), ts?.alive() ? ts.stop('SIGQUIT') : undefined]);
});

// Every CLI call starts a Python interpreter and waits out its reply timeout: seconds each on a loaded machine.
describe('inspect: celeriac replies have the Python worker\'s shape', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    // The same work on both: one finished task, two running, one waiting for a slot, one ETA a minute out
    // (celeriac parks that one at the broker) and two revoked ids.
    for (const [side, queue] of [['py', 'py-control'], ['ts', 'ts-control']] as const) {
      await send('tools.add', [1, 2], queue);
      for (let i = 0; i < 3; i++) ids[side]!.push((await send('tools.sleep', [900], queue, ['--no-wait'])).ids[0]!);
      await send('tools.add', [2, 2], queue, ['--countdown', '900', '--no-wait']);
    }
    await celeryCli(urls, ['control', 'revoke', 'not-a-task-1', 'not-a-task-2']);
    await inspectUntil('active', (r) => (r[PY] as unknown[])?.length === 2 && (r[TS] as unknown[])?.length === 2, 'two active tasks on each worker');
  }, 300_000);

  const compare = async (command: string, args: string[] = [], maps: string[] = []) => {
    const replies = await celeryJson(urls, 'inspect', command, args);
    expect(Object.keys(replies).sort()).toEqual([PY, TS].sort());
    expect(shapeOf(replies[TS], maps)).toEqual(shapeOf(replies[PY], maps));
    return replies;
  };

  it('stats: total, pid, clock, uptime, pool (threads), broker, prefetch_count, rusage', async () => {
    const replies = await compare('stats', [], ['total']);
    const stats = replies[TS] as Record<string, any>;
    expect(stats.pool).toEqual({ 'max-concurrency': 2, threads: 2 });
    expect(stats.broker).toMatchObject({ hostname: '127.0.0.1', transport: 'redis', virtual_host: '10', userid: null });
    expect(stats.total).toMatchObject({ 'tools.add': 1 });
    expect(Number(stats.clock)).toBeGreaterThan(0);
  });

  it('active, reserved and scheduled list the same requests, with Python\'s fields', async () => {
    const active = await compare('active');
    expect(ids.ts).toEqual(expect.arrayContaining((active[TS] as unknown as any[]).map((r) => r.id)));
    for (const r of active[TS] as unknown as any[]) expect(r).toMatchObject({ name: 'tools.sleep', hostname: TS, acknowledged: true, delivery_info: { routing_key: 'ts-control', redelivered: null } });
    const reserved = await compare('reserved');
    expect((reserved[TS] as unknown as unknown[]).length).toBe(1);
    const scheduled = await compare('scheduled');
    // The ETA task is parked at the broker, yet still this worker's scheduled task.
    expect(scheduled[TS]).toEqual([expect.objectContaining({ priority: 6, request: expect.objectContaining({ name: 'tools.add', args: [2, 2], time_start: null, worker_pid: null }) })]);
  });

  it('query_task answers by id with [state, info], as Python does', async () => {
    const replies = await compare('query_task', [...ids.py!, ...ids.ts!], ['']);
    const states = Object.values(replies[TS] as Record<string, [string, unknown]>).map(([state]) => state).sort();
    expect(states).toEqual(['active', 'active', 'reserved']);
  });

  it('revoked, registered, active_queues, clock, conf, report, ping, memdump, objgraph', async () => {
    expect((await compare('revoked'))[TS]).toEqual(expect.arrayContaining(['not-a-task-1', 'not-a-task-2']));
    expect((await compare('registered'))[TS]).toEqual(['tools.add', 'tools.fail', 'tools.retry_once', 'tools.sleep', 'tools.stamps']);
    const queues = await compare('active_queues');
    // What Flower's worker page reads from each queue.
    expect(queues[TS]).toEqual([expect.objectContaining({ name: 'ts-control', exclusive: false, durable: true, routing_key: 'ts-control', no_ack: false, alias: null, queue_arguments: null, binding_arguments: null, auto_delete: false })]);
    await compare('clock');
    const conf = (await celeryJson(urls, 'inspect', 'conf')) as Record<string, Record<string, unknown>>;
    expect(conf[TS]).toMatchObject({ broker_url: urls.broker, deprecated_settings: null, include: [expect.stringMatching(/tools/)] });
    // The loader's two keys Python always reports are there, with the same shapes.
    const loaderKeys = (reply: Record<string, unknown> | undefined) => shapeOf({ include: reply?.include, deprecated_settings: reply?.deprecated_settings }, []);
    expect(loaderKeys(conf[TS])).toEqual(loaderKeys(conf[PY]));
    expect((await compare('report'))[TS]).toEqual({ ok: expect.stringMatching(/software -> celeriac:/) });
    expect((await compare('ping'))[TS]).toEqual({ ok: 'pong' });
    expect((await compare('memdump'))[TS]).toMatch(/- rss \(end\): [\d.]+[KMG]?B\./);
    // Python answers objgraph with an error too (no objgraph library); celeriac says why it cannot.
    expect((await compare('objgraph'))[TS]).toEqual({ error: expect.stringMatching(/not supported in Node/) });
  });

  it('memsample samples the RSS (Python needs psutil for it and answers None without)', async () => {
    const replies = await celeryJson(urls, 'inspect', 'memsample');
    expect(replies[TS]).toMatch(/^[\d.]+(MB|KB|GB|b)$/);
  });
});

describe('control: Python\'s CLI changes the celeriac worker', { timeout: 180_000 }, () => {
  const control = (command: string, args: string[] = [], destination = TS) => celeryJson(urls, 'control', command, [...args, '-d', destination]);

  beforeAll(async () => {
    // Free celeriac's slots: stop the long sleeps of the inspect tests (the waiting one is discarded when due).
    const stopped = await celeryJson(urls, 'control', 'terminate', ['SIGTERM', ...ids.ts!, '-d', TS]);
    expect(stopped[TS]).toEqual({ ok: expect.stringMatching(/^terminate: /) });
  }, 60_000);

  it('rate_limit and time_limit answer as Python and take effect (registered shows the rate)', async () => {
    const [mine, theirs] = await Promise.all([control('rate_limit', ['tools.add', '7/m']), control('rate_limit', ['tools.add', '7/m'], PY)]);
    expect(mine[TS]).toEqual(theirs[PY]);
    expect((await control('rate_limit', ['tools.nope', '1/s']))[TS]).toEqual({ error: 'unknown task' });
    const registered = await celeryJson<string[]>(urls, 'inspect', 'registered', ['-d', TS]);
    expect(registered[TS]).toContain('tools.add [rate_limit=7/m]');
    // '0' turns the limit off; Python's reply still says "new rate limit set" (a non-empty string is truthy).
    const [off, pyOff] = await Promise.all([control('rate_limit', ['tools.add', '0']), control('rate_limit', ['tools.add', '0'], PY)]);
    expect(off[TS]).toEqual(pyOff[PY]);
    // Celery keeps the string: both workers then list `tools.add [rate_limit=0]`.
    const listed = await celeryJson<string[]>(urls, 'inspect', 'registered');
    expect(listed[TS]).toContain('tools.add [rate_limit=0]');
    expect(listed[PY]).toContain('tools.add [rate_limit=0]');
    expect((await control('time_limit', ['tools.add', '10', '20']))[TS]).toEqual({ ok: 'time limits set successfully' });
  });

  it('add_consumer and cancel_consumer change the queues consumed', async () => {
    expect((await control('add_consumer', ['ts-extra']))[TS]).toEqual({ ok: 'add consumer ts-extra' });
    expect(await send('tools.add', [20, 22], 'ts-extra')).toMatchObject({ state: 'SUCCESS', result: 42 });
    const queues = await celeryJson<Array<{ name: string }>>(urls, 'inspect', 'active_queues', ['-d', TS]);
    expect(queues[TS]!.map((q) => q.name).sort()).toEqual(['ts-control', 'ts-extra']);
    expect((await control('cancel_consumer', ['ts-extra']))[TS]).toEqual({ ok: 'no longer consuming from ts-extra' });
    const after = await celeryJson<Array<{ name: string }>>(urls, 'inspect', 'active_queues', ['-d', TS]);
    expect(after[TS]!.map((q) => q.name)).toEqual(['ts-control']);
  });

  it('pool_grow and pool_shrink resize the threads pool; autoscale and pool_restart say why not', async () => {
    expect((await control('pool_grow', ['1']))[TS]).toEqual({ ok: 'pool will grow' });
    let stats = await celeryJson<Record<string, any>>(urls, 'inspect', 'stats', ['-d', TS]);
    expect(stats[TS]!.pool['max-concurrency']).toBe(3);
    expect((await control('pool_shrink', ['1']))[TS]).toEqual({ ok: 'pool will shrink' });
    stats = await celeryJson<Record<string, any>>(urls, 'inspect', 'stats', ['-d', TS]);
    expect(stats[TS]!.pool['max-concurrency']).toBe(2);
    expect((await control('autoscale', ['4', '2']))[TS]).toEqual({ error: expect.stringMatching(/Autoscale not enabled/) });
    expect((await control('pool_restart'))[TS]).toEqual({ error: expect.stringMatching(/Pool restarts not enabled/) });
  });

  it('enable_events, disable_events, heartbeat and election answer as Python', async () => {
    for (const command of ['enable_events', 'disable_events', 'heartbeat']) {
      const [mine, theirs] = await Promise.all([control(command), control(command, [], PY)]);
      expect(shapeOf(mine[TS])).toEqual(shapeOf(theirs[PY]));
    }
    // Python 5.2's CLI cannot pass election's arguments; Celery's client API can. Without gossip celeriac answers
    // None, as Python does when it has no gossip (this Python worker, started --without-gossip, errors instead).
    const election = await pyHarness<Record<string, unknown>>(urls, ['inspect', 'election', JSON.stringify({ id: 'e-1', topic: 'topic-1', action: null })]);
    expect(election[TS]).toBeNull();
  });

  it('revoke discards a waiting task and terminate stops a running one (REVOKED both)', async () => {
    const waiting = (await send('tools.add', [1, 1], 'ts-control', ['--countdown', '4', '--no-wait'])).ids[0]!;
    expect((await control('revoke', [waiting]))[TS]).toEqual({ ok: `tasks ${waiting} flagged as revoked` });
    const running = (await send('tools.sleep', [60], 'ts-control', ['--no-wait'])).ids[0]!;
    await inspectUntil('active', (r) => (r[TS] as Array<{ id: string }> | undefined)?.some((t) => t.id === running) ?? false, `${running} running`);
    expect((await control('terminate', ['SIGTERM', running]))[TS]).toEqual({ ok: `terminate: ${running}` });
    for (const id of [waiting, running]) {
      const { stdout, stderr } = await celeryCli(urls, ['result', id]);
      expect(`${stdout}${stderr}`).toMatch(/TaskRevokedError/);
    }
  });

  it('status, result and purge work on celeriac\'s queues and results', async () => {
    const { stdout } = await celeryCli(urls, ['status']);
    expect(stdout).toMatch(new RegExp(`${TS}: OK`));
    const done = await send('tools.add', [40, 2], 'ts-control');
    expect((await celeryCli(urls, ['result', done.ids[0]!])).stdout.trim()).toBe('42');
    await celeryCli(urls, ['control', 'cancel_consumer', 'ts-control', '-d', TS]);
    await send('tools.add', [1, 1], 'ts-control', ['--no-wait']);
    const purged = await celeryCli(urls, ['purge', '-f', '-Q', 'ts-control']);
    expect(purged.stdout).toMatch(/Purged 1 message/);
    await celeryCli(urls, ['control', 'add_consumer', 'ts-control', '-d', TS]);
  });

  it('celeriac\'s own CLI asks the same questions of both workers', async () => {
    const celeriac = (args: string[]) => run(process.execPath, [join(repoRoot, 'bin/celeriac.js'), ...args, '-b', urls.broker], { cwd: repoRoot, timeout: 60_000 });
    const stats = JSON.parse((await celeriac(['inspect', 'stats', '-j', '-t', '2'])).stdout) as Record<string, Record<string, unknown>>;
    expect(Object.keys(stats).sort()).toEqual([PY, TS].sort());
    expect(shapeOf(stats[TS]!.broker)).toEqual(shapeOf(stats[PY]!.broker));
    const { stdout } = await celeriac(['control', 'heartbeat', '-d', TS, '-t', '2']);
    expect(stdout).toContain(`->  ${TS}: OK\n        None`);
    await expect(celeriac(['inspect', 'nope'])).rejects.toMatchObject({ stderr: expect.stringMatching(/Unknown inspect method 'nope'/) });
  });

  it('shutdown: no reply (as Python), and the worker stops cleanly', async () => {
    const running = await celeryJson<Array<{ id: string }>>(urls, 'inspect', 'active', ['-d', TS]);
    if (running[TS]?.length) await celeryCli(urls, ['control', 'terminate', 'SIGTERM', ...running[TS]!.map((t) => t.id), '-d', TS]);
    const { stdout, stderr } = await celeryCli(urls, ['control', 'shutdown', '-d', TS, '-t', '2']);
    expect(`${stdout}${stderr}`).toMatch(/No nodes replied/);
    expect(await ts.stop()).toBe(0);
  });
});
