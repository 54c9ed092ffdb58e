// Many workers (issue 18): `celeriac multi start` runs 6 detached worker nodes × 4 queues on Redis, as a newcomer
// would from a shell (the built CLI, pidfiles and logfiles in the current directory). Work spreads over every node
// and every queue, no task runs twice, remote control (ping, inspect stats) reaches every node, and
// `multi stopwait` stops them all and removes the pidfiles. tasks/s printed.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { repoRoot } from '../support/shared.js';

const run = promisify(execFile);
const cli = join(repoRoot, 'bin/celeriac.js');
const fixture = join(repoRoot, 'tests/fixtures/counting-app.ts');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(50);
  }
}

describe('celeriac multi: 6 worker nodes × 4 queues', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-multi-'));
  const tag = randomUUID().slice(0, 6);
  const names = Array.from({ length: 6 }, (_, i) => `w${i + 1}-${tag}`);
  const queues = Array.from({ length: 4 }, (_, i) => `mq${i + 1}-${tag}`);
  const broker = inject('redisUrl').replace(/\/\d*$/, '/9');
  const execLog = join(dir, 'executions.log');
  const env = { ...process.env, CELERIAC_EXEC_LOG: execLog };
  const multi = (...args: string[]) => run(process.execPath, [cli, 'multi', ...args], { cwd: dir, env, timeout: 120_000 });
  const nodeArgs = [...names, '-A', fixture, '-b', broker, '-Q', queues.join(','), '-c', '2', '-l', 'INFO'];
  let app: Celery | undefined;

  afterAll(async () => {
    await app?.close();
    await multi('kill', ...names).catch(() => undefined);
  });

  it('starts detached nodes with pidfiles and logfiles, spreads the work, reaches every node, and stops them', async () => {
    const started = await multi('start', ...nodeArgs);
    for (const n of names) expect(started.stdout).toMatch(new RegExp(`> ${n}@\\S+: OK`));
    const pids = names.map((n) => Number(readFileSync(join(dir, `${n}.pid`), 'utf8')));
    const logOf = (n: string) => (existsSync(join(dir, `${n}.log`)) ? readFileSync(join(dir, `${n}.log`), 'utf8') : '');
    await waitUntil(() => names.every((n) => /ready\./.test(logOf(n))), 120_000, 'every node to be ready');
    expect((await multi('start', ...nodeArgs)).stdout).toMatch(/already running/);

    app = new Celery('multi-client', { broker });
    const fullNames = (await multi('names', ...nodeArgs)).stdout.trim().split('\n');
    const pongs = await app.control.ping({ destination: fullNames, limit: fullNames.length, timeout: 30 });
    expect(Object.keys(pongs).sort()).toEqual([...fullNames].sort());
    const stats = await app.control.inspect({ destination: fullNames, limit: fullNames.length, timeout: 30 }).stats();
    expect(Object.keys(stats ?? {}).sort()).toEqual([...fullNames].sort());

    const total = 400;
    const began = Date.now();
    const ids = new Set<string>();
    for (let i = 0; i < total; i++) ids.add((await app.sendTask('counting.work', [20], {}, { queue: queues[i % queues.length] })).id);
    const runs = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8').trim().split('\n').filter(Boolean) : []).map((l) => l.split(' '));
    await waitUntil(() => new Set(runs().map(([id]) => id).filter((id) => ids.has(id!))).size === total, 300_000, 'every task to run');
    const elapsed = (Date.now() - began) / 1000;
    const mine = runs().filter(([id]) => ids.has(id!));
    const perPid = new Map<string, number>();
    for (const [, pid] of mine) perPid.set(pid!, (perPid.get(pid!) ?? 0) + 1);
    console.log(`[figures] multi: 6 nodes × 4 queues, ${total} tasks of 20 ms in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)} tasks/s incl. publishing), per node ${[...perPid.values()].join('/')}, duplicates ${mine.length - total}`);
    expect(mine.length).toBe(total);
    expect([...perPid.keys()].map(Number).sort()).toEqual([...pids].sort());

    const stopped = await multi('stopwait', ...nodeArgs);
    for (const n of names) expect(stopped.stdout).toMatch(new RegExp(`> ${n}@\\S+: OK`));
    for (const n of names) expect(existsSync(join(dir, `${n}.pid`))).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect((await multi('stop', ...nodeArgs)).stdout).toMatch(/DOWN/);
  }, 600_000);
});
