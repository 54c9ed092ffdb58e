// Crash safety, measured on real brokers (issue 5): acks_late tasks survive SIGKILLed workers, countdown tasks
// longer than the visibility timeout run once, and a restarted redis-server does not stop a worker. Every figure
// (sent, executed, duplicates, lost) is printed so the closing note can quote it.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Celery, type AsyncResult } from '../../src/index.js';
import { repoRoot } from '../support/shared.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import { startCeleriacWorker, type Proc } from '../interop/harness.js';

const fixture = join(repoRoot, 'tests/fixtures/counting-app.ts');
const procs: Proc[] = [];
const apps: Celery[] = [];
const servers: RedisServer[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function harness(broker: string, backend: string, visibilitySeconds: number) {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-crash-'));
  const execLog = join(dir, 'executions.log');
  const client = new Celery('crash-client', { broker, backend, broker_transport_options: { polling_interval: 0.02 } });
  apps.push(client);
  const start = async (name: string, extra: string[] = []) => {
    Object.assign(process.env, { CELERIAC_EXEC_LOG: execLog, CELERIAC_VISIBILITY_TIMEOUT: String(visibilitySeconds) });
    const p = await startCeleriacWorker({ broker, backend }, ['-n', name, ...extra], fixture);
    procs.push(p);
    return p;
  };
  /** Every execution as [task id, pid], in order. */
  const executions = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]) : []);
  return { client, start, executions };
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(20);
  }
}

/** 1,000 acks_late tasks, the worker SIGKILLed three times while it runs them; then every task must succeed. */
async function killThreeTimes(broker: string, backend: string, label: string) {
  const total = 1000;
  const { client, start, executions } = harness(broker, backend, 2);
  const results: AsyncResult<unknown>[] = [];
  for (let i = 0; i < total; i += 100) results.push(...(await Promise.all(Array.from({ length: 100 }, () => client.sendTask('counting.late', [5])))));
  const killedPids = new Set<string>();
  let worker = await start(`victim0@${label}`, ['-c', '8']);
  for (const [kill, threshold] of [[1, 150], [2, 400], [3, 650]] as const) {
    await waitUntil(() => executions().length >= threshold + Math.floor(Math.random() * 100), 90_000, `${threshold} executions`);
    killedPids.add(String(worker.child.pid));
    await worker.stop('SIGKILL');
    worker = await start(`victim${kill}@${label}`, ['-c', '8']);
  }
  const values = await Promise.all(results.map((r) => r.get({ timeout: 150, interval: 0.2 })));
  expect(values).toEqual(Array(total).fill(5));
  const runs = executions();
  const ids = new Set(results.map((r) => r.id));
  const perId = new Map<string, string[]>();
  for (const [id, pid] of runs) if (ids.has(id)) perId.set(id, [...(perId.get(id) ?? []), pid]);
  const duplicates = [...perId.values()].filter((pids) => pids.length > 1);
  // A task runs twice only when a killed worker had started it (acks_late: no ack, so it comes back).
  const unexplained = duplicates.filter((pids) => !pids.slice(0, -1).every((pid) => killedPids.has(pid)));
  console.log(`[crash ${label}] sent ${total}, executed ${runs.length}, distinct ${perId.size}, duplicates ${duplicates.length}, lost ${total - perId.size}`);
  expect(perId.size).toBe(total);
  expect(runs.length).toBeGreaterThanOrEqual(total);
  expect(unexplained).toEqual([]);
}

/** Countdown tasks due after the visibility timeout run exactly once (ETA messages are deferred, not held unacked). */
async function countdownBeyondVisibility(broker: string, backend: string, label: string) {
  const { client, start, executions } = harness(broker, backend, 1);
  await start(`eta-a@${label}`, ['-c', '4']);
  await start(`eta-b@${label}`, ['-c', '4']);
  const results = await Promise.all(Array.from({ length: 20 }, () => client.sendTask('counting.late', [1], {}, { countdown: 4 })));
  const sentAt = Date.now();
  await Promise.all(results.map((r) => r.get({ timeout: 30, interval: 0.1 })));
  expect(Date.now() - sentAt).toBeGreaterThanOrEqual(3_500);
  await pause(2_500);
  const runs = executions().map(([id]) => id);
  console.log(`[countdown ${label}] sent 20, executed ${runs.length}`);
  expect(runs.sort()).toEqual(results.map((r) => r.id).sort());
}

describe('crash safety on SQLite', () => {
  const url = () => `sqlite:///${join(mkdtempSync(join(tmpdir(), 'celeriac-crash-db-')), 'broker.db')}`;

  it('1,000 acks_late tasks survive three SIGKILLs: all succeed, no task lost, every duplicate explained', async () => {
    const u = url();
    await killThreeTimes(u, u, 'sqlite');
  }, 240_000);

  it('countdown tasks longer than the visibility timeout run exactly once', async () => {
    const u = url();
    await countdownBeyondVisibility(u, u, 'sqlite');
  }, 60_000);
});

describe('crash safety on Redis', () => {
  // A private redis-server: these tests run many worker processes and must not share dbs with other suites.
  let own: RedisServer;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(async () => {
    await own?.stop();
  });
  const urls = (db: number) => {
    const root = own.url.replace(/\/\d*$/, '');
    return [`${root}/${db}`, `${root}/${db + 1}`] as const;
  };

  it('1,000 acks_late tasks survive three SIGKILLs: all succeed, no task lost, every duplicate explained', async () => {
    const [broker, backend] = urls(2);
    await killThreeTimes(broker, backend, 'redis');
  }, 240_000);

  it('countdown tasks longer than the visibility timeout run exactly once', async () => {
    const [broker, backend] = urls(4);
    await countdownBeyondVisibility(broker, backend, 'redis');
  }, 60_000);

  it('a worker resumes within seconds after redis-server restarts under load, and loses nothing', async () => {
    const server = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    servers.push(server);
    const broker = `${server.url.replace(/\/\d*$/, '')}/0`;
    const backend = `${server.url.replace(/\/\d*$/, '')}/1`;
    const { client, start, executions } = harness(broker, backend, 30);
    await start('survivor@redis', ['-c', '8']);
    const first = await Promise.all(Array.from({ length: 300 }, () => client.sendTask('counting.late', [10])));
    await waitUntil(() => executions().length >= 50, 30_000, 'the first executions');
    await server.halt();
    await pause(1_500);
    await server.start();
    const restartedAt = Date.now();
    const second = await Promise.all(Array.from({ length: 50 }, () => client.sendTask('counting.add', [1, 2])));
    expect(await second[0]!.get({ timeout: 20, interval: 0.1 })).toBe(3);
    const resumedMs = Date.now() - restartedAt;
    const values = await Promise.all([...first, ...second].map((r) => r.get({ timeout: 90, interval: 0.2 })));
    console.log(`[restart redis] resumed ${resumedMs} ms after restart; ${values.length} tasks, all succeeded`);
    expect(values.filter((v) => v === 10)).toHaveLength(300);
    expect(values.filter((v) => v === 3)).toHaveLength(50);
  }, 180_000);
});
