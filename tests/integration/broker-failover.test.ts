// Broker failover on two private redis-servers (issue 18): broker_url = 'redis://A;redis://B'. A is SIGKILLed
// while a client publishes and a worker process consumes; both carry on with B. Then A is started again from its
// append-only file and B is killed: round-robin brings the worker back to A, where what A had confirmed waits.
// Every confirmed task runs (lost 0); duplicates come only from deliveries held when A died. Figures printed.
// Also broker_connection_retry_on_startup / broker_connection_max_retries on a worker whose broker is not up.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery, Worker } from '../../src/index.js';
import { OperationalError } from '../../src/errors.js';
import { repoRoot } from '../support/shared.js';
import { freePort, startRedis, type RedisServer } from '../support/servers.js';
import { startCeleriacWorker, type Proc } from '../interop/harness.js';

const fixture = join(repoRoot, 'tests/fixtures/counting-app.ts');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Durable servers: a SIGKILLed broker comes back with every write it confirmed.
const DURABLE = ['--appendonly', 'yes', '--appendfsync', 'always'];
// A command fails after one reconnect attempt (not ~20), so a broker that is down is reported at once.
const FAST_FAIL = { broker_transport_options: { max_retries_per_request: 1 } };

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(25);
  }
}

describe('broker failover: redis://A;redis://B', () => {
  let a: RedisServer;
  let b: RedisServer;
  let results: RedisServer;
  let worker: Proc | undefined;
  let client: Celery | undefined;

  beforeAll(async () => {
    [a, b, results] = await Promise.all([startRedis({ args: DURABLE }), startRedis({ args: DURABLE }), startRedis()]);
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await client?.close();
    await Promise.all([a, b, results].map((s) => s?.stop()));
  });

  it('A dies under load: client and worker continue on B, and back on A when B dies; nothing confirmed is lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-failover-'));
    const execLog = join(dir, 'executions.log');
    const broker = `${a.url};${b.url}`;
    worker = await startCeleriacWorker({ broker, backend: results.url }, ['-n', 'failover@it', '-c', '4'], fixture,
      { CELERIAC_EXEC_LOG: execLog, CELERIAC_LEASE_TIMEOUT: '2' });
    client = new Celery('failover-client', { broker, broker_transport_options: { polling_interval: 0.02 } });
    const executions = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8').trim().split('\n').filter(Boolean) : [])
      .map((l) => l.split(' ')).map(([id, , at]) => ({ id: id!, at: Number(at) }));

    const confirmed: Array<{ id: string; at: number }> = [];
    const publish = async (count: number) => {
      for (let i = 0; i < count; i++) confirmed.push({ id: (await client!.sendTask('counting.work', [5])).id, at: Date.now() });
    };
    await publish(150);
    // Under load: the worker is busy with A's messages when A is killed.
    await waitUntil(() => executions().length >= 20, 60_000, 'the worker to run tasks from A');
    const killedAt = Date.now();
    await a.halt('SIGKILL');
    await publish(150);
    const firstOnB = confirmed.find((c) => c.at > killedAt)!;
    const afterKill = new Set(confirmed.filter((c) => c.at > killedAt).map((c) => c.id));
    await waitUntil(() => executions().filter((e) => afterKill.has(e.id)).length === afterKill.size, 120_000, 'every task published after the kill to run on B');
    const firstRunOnB = Math.min(...executions().filter((e) => afterKill.has(e.id)).map((e) => e.at));
    expect(worker.output()).toMatch(/Connection to broker lost/);

    // What A confirmed but nobody took is still in A's append-only file: bring A back, kill B, round-robin returns.
    await a.start();
    const stranded = confirmed.length - new Set(executions().map((e) => e.id)).size;
    await b.halt('SIGKILL');
    const ids = new Set(confirmed.map((c) => c.id));
    await waitUntil(() => new Set(executions().map((e) => e.id).filter((id) => ids.has(id))).size === ids.size, 120_000, 'every confirmed task to run');

    const runs = executions();
    const lost = confirmed.filter((c) => !runs.some((r) => r.id === c.id)).length;
    const duplicates = runs.length - new Set(runs.map((r) => r.id)).size;
    console.log(`[figures] broker failover (redis A;B, SIGKILL under load): ${confirmed.length} confirmed, lost ${lost}, duplicates ${duplicates} (deliveries held when A died), client publish on B after ${firstOnB.at - killedAt} ms, first task run from B after ${firstRunOnB - killedAt} ms, ${stranded} waited on A until it came back`);
    expect(lost).toBe(0);
    // Only deliveries the worker held when A died can run again: at most its prefetch window (4 slots × 4).
    expect(duplicates).toBeLessThanOrEqual(16);
  }, 300_000);
});

describe('broker_connection_retry_on_startup and broker_connection_max_retries', () => {
  it('a worker whose broker is down gives up at once without retry on startup, and after max_retries with it', async () => {
    const url = `redis://127.0.0.1:${await freePort()}/0`;
    for (const [conf, pattern] of [
      [{ broker_connection_retry_on_startup: false }, /127\.0\.0\.1/],
      [{ broker_connection_max_retries: 0 }, /after 1 attempts \(broker_connection_max_retries = 0\)/],
    ] as const) {
      const app = new Celery('retry-startup', { broker: url, ...conf, ...FAST_FAIL });
      const worker = new Worker(app, { banner: false, concurrency: 1, loglevel: 'CRITICAL' });
      const error = await worker.start().then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(OperationalError);
      expect(String((error as Error).message)).toMatch(pattern);
      await app.close();
    }
  });

  it('with retry on startup, a worker started before its broker connects once the broker is up', async () => {
    const port = await freePort();
    const logfile = join(mkdtempSync(join(tmpdir(), 'celeriac-retry-')), 'worker.log');
    const app = new Celery('retry-startup-late', { broker: `redis://127.0.0.1:${port}/0`, broker_connection_max_retries: null, ...FAST_FAIL });
    const worker = new Worker(app, { banner: false, concurrency: 1, loglevel: 'WARNING', logfile });
    const log = () => (existsSync(logfile) ? readFileSync(logfile, 'utf8') : '');
    let server: RedisServer | undefined;
    try {
      const started = worker.start();
      await waitUntil(() => /Cannot connect to .* Trying again in 2\.00 seconds\.\.\. \(1\/∞\)/.test(log()), 30_000, 'the first retry warning');
      server = await startRedis({ port });
      await started;
      expect(worker.queueNames).toEqual(['celery']);
    } finally {
      await worker.stop('cold').catch(() => undefined);
      await app.close();
      await server?.stop();
    }
  }, 90_000);

  it('a worker still waiting for its broker stops on a warm shutdown (SIGTERM), without retrying further', async () => {
    const logfile = join(mkdtempSync(join(tmpdir(), 'celeriac-retry-')), 'worker.log');
    const app = new Celery('retry-startup-stop', { broker: `redis://127.0.0.1:${await freePort()}/0`, broker_connection_max_retries: null, ...FAST_FAIL });
    const worker = new Worker(app, { banner: false, concurrency: 1, loglevel: 'WARNING', logfile });
    const log = () => (existsSync(logfile) ? readFileSync(logfile, 'utf8') : '');
    const started = worker.start();
    await waitUntil(() => /Trying again in 2\.00 seconds/.test(log()), 30_000, 'the first retry warning');
    await worker.stop('warm');
    await started;
    const attempts = (log().match(/Trying again/g) ?? []).length;
    await pause(3_000);
    expect((log().match(/Trying again/g) ?? []).length).toBe(attempts);
    expect(log()).toMatch(/Warm shutdown/);
  }, 60_000);
});
