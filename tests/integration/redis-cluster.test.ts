// Redis Cluster (issue 18): broker and result backend on redis+cluster://, against six private redis-servers
// (three masters, three replicas) started by this file. A celeriac worker process consumes two queues whose keys
// live in different slots: tasks round-trip with results, countdown/ETA, a chord, remote control ping. Then the
// master of queue `celery` is SIGKILLed under load (acks_late, wait_replicas 1): every confirmed task runs (lost 0);
// duplicates only from deliveries the dead master handed out before its last writes reached the replica; the killed
// node comes back as a replica. Figures printed.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperationalError } from '../../src/errors.js';
import { Celery, chord, Worker } from '../../src/index.js';
import { repoRoot } from '../support/shared.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { startCeleriacWorker, type Proc } from '../interop/harness.js';

const fixture = join(repoRoot, 'tests/fixtures/counting-app.ts');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const T = { timeout: 60 };

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(25);
  }
}

describe('Redis Cluster broker and result backend (redis+cluster://)', () => {
  let cluster: RedisCluster;
  let worker: Proc;
  let client: Celery;
  let execLog: string;
  const executions = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8').trim().split('\n').filter(Boolean) : [])
    .map((l) => l.split(' ')).map(([id, , at]) => ({ id: id!, at: Number(at) }));

  beforeAll(async () => {
    cluster = await startRedisCluster();
    execLog = join(mkdtempSync(join(tmpdir(), 'celeriac-cluster-')), 'executions.log');
    worker = await startCeleriacWorker({ broker: cluster.url, backend: cluster.url }, ['-n', 'cluster@it', '-c', '8', '-Q', 'celery,second'], fixture,
      { CELERIAC_EXEC_LOG: execLog, CELERIAC_LEASE_TIMEOUT: '3', CELERIAC_WAIT_REPLICAS: '1' });
    // Publishes and results are confirmed once a replica has them (wait_replicas), so a master's death loses none.
    const replicas = { wait_replicas: 1, wait_timeout: 0.5 };
    client = new Celery('cluster-client', { broker: cluster.url, result_backend: cluster.url, broker_transport_options: { polling_interval: 0.02, ...replicas }, result_backend_transport_options: replicas });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await worker?.stop('SIGKILL');
    await cluster?.stop();
  });

  it('the queues sit in different slots, each queue\'s keys in one', async () => {
    const slot = async (key: string) => Number((await cluster.cli(cluster.nodes[0]!.port, 'cluster', 'keyslot', key)).trim());
    expect(await slot('{celery}.celery')).toBe(await slot('{celery}.unacked'));
    expect(await slot('{celery}.celery')).not.toBe(await slot('{second}.second'));
  });

  it('tasks round-trip with results on both queues; throughput printed', async () => {
    const first = await client.sendTask('counting.add', [2, 3]);
    const second = await client.sendTask('counting.add', [4, 5], {}, { queue: 'second' });
    expect(await first.get(T)).toBe(5);
    expect(await second.get(T)).toBe(9);

    const n = 500;
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: n }, (_, i) => client.sendTask('counting.add', [i, 1], {}, { queue: i % 2 ? 'second' : 'celery' })));
    const values = await Promise.all(results.map((r) => r.get(T)));
    const seconds = (Date.now() - started) / 1000;
    expect(values).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    console.log(`[figures] Redis Cluster (3 masters + 3 replicas, loopback, 2 shared cores): ${n} add tasks sent, run and their results read in ${seconds.toFixed(2)} s = ${(n / seconds).toFixed(0)} tasks/s`);
  }, 120_000);

  it('countdown and ETA: the task runs no earlier than asked', async () => {
    const sent = Date.now();
    const counted = await client.sendTask('counting.work', [1], {}, { countdown: 1 });
    const eta = await client.sendTask('counting.work', [1], {}, { eta: new Date(Date.now() + 1500), queue: 'second' });
    expect(await counted.get(T)).toBe(1);
    expect(await eta.get(T)).toBe(1);
    const ran = new Map(executions().map((e) => [e.id, e.at]));
    expect(ran.get(counted.id)! - sent).toBeGreaterThanOrEqual(1000);
    expect(ran.get(eta.id)! - sent).toBeGreaterThanOrEqual(1500);
  }, 60_000);

  it('a chord: header results counted, the body gets them all', async () => {
    const add = (x: number, y: number) => client.signature('counting.add', [x, y]);
    const result = await chord([add(1, 1), add(2, 2), add(3, 3), add(4, 4)], client.signature('counting.sum')).applyAsync();
    expect(await result.get(T)).toBe(20);
  }, 60_000);

  it('remote control reaches the worker through the cluster (ping)', async () => {
    const pongs = await client.control.ping({ timeout: 10, limit: 1 });
    expect(pongs).toEqual({ 'cluster@it': { ok: 'pong' } });
  }, 30_000);

  it('the master of queue celery is SIGKILLed under load: its replica takes over, lost 0 (acks_late)', async () => {
    const confirmed: string[] = [];
    let publishErrors = 0;
    const publish = async (count: number) => {
      for (let i = 0; i < count; i++) {
        // A publish the cluster did not confirm is sent again, as a producer with its own retry loop would.
        for (;;) {
          try {
            confirmed.push((await client.sendTask('counting.late', [20])).id);
            break;
          } catch {
            publishErrors++;
            await pause(100);
          }
        }
      }
    };
    const before = executions().length;
    // Published while the worker runs: the kill lands in the middle of both.
    const publishing = publish(800);
    await waitUntil(() => executions().length - before >= 40, 60_000, 'the worker to be busy with queue celery');
    const killedPort = await cluster.masterOf('{celery}.celery');
    const killed = cluster.nodes.find((n) => n.port === killedPort)!;
    const killedAt = Date.now();
    await killed.halt('SIGKILL');
    let promotedAt = 0;
    const promotion = (async () => {
      while (!promotedAt) {
        if ((await cluster.masterOf('{celery}.celery').catch(() => killedPort)) !== killedPort) promotedAt = Date.now();
        else await pause(50);
      }
    })();
    await promotion;
    // Back as a replica of the promoted master: its shard has a replica to wait for again.
    await killed.start();
    await publishing;
    const ids = new Set(confirmed);
    await waitUntil(() => new Set(executions().map((e) => e.id).filter((id) => ids.has(id))).size === ids.size, 180_000, 'every confirmed task to run');
    const values = await Promise.all(confirmed.map((id) => client.AsyncResult(id).get(T)));
    expect(values.every((v) => v === 20)).toBe(true);

    const runs = executions().filter((e) => ids.has(e.id));
    const lost = confirmed.filter((id) => !runs.some((r) => r.id === id)).length;
    const duplicates = runs.length - new Set(runs.map((r) => r.id)).size;
    const after = runs.map((r) => r.at).filter((at) => at >= killedAt).sort((a, b) => a - b);
    const stall = Math.max(0, ...after.map((at, i) => at - (i === 0 ? killedAt : after[i - 1]!)));
    console.log(`[figures] Redis Cluster failover (SIGKILL of queue celery's master under load, acks_late, wait_replicas 1): ${confirmed.length} confirmed, lost ${lost}, duplicates ${duplicates}, replica promoted after ${((promotedAt - killedAt) / 1000).toFixed(1)} s, longest pause in executions ${(stall / 1000).toFixed(1)} s, ${publishErrors} publish attempts refused during the failover`);
    expect(lost).toBe(0);
    // Remote control still reaches the worker, whichever node its subscription was on.
    expect(await client.control.ping({ timeout: 10, limit: 1 })).toEqual({ 'cluster@it': { ok: 'pong' } });
    // Only deliveries the dead master handed out before its last writes reached the replica can run twice: at most
    // the worker's prefetch window (8 slots × 4).
    expect(duplicates).toBeLessThanOrEqual(32);
  }, 300_000);
});

describe('a Redis Cluster that requires a password (redis+cluster://:password@…)', () => {
  let cluster: RedisCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it('tasks round-trip with the password from the URL', async () => {
    cluster = await startRedisCluster({ password: 'cl-s3cret' });
    const app = new Celery('cluster-auth', { broker: cluster.url, result_backend: cluster.url });
    app.task((x: number, y: number) => x + y, { name: 'auth.add' });
    const worker = new Worker(app, { banner: false, concurrency: 2, loglevel: 'CRITICAL' });
    try {
      await worker.start();
      expect(await (await app.sendTask('auth.add', [20, 22])).get(T)).toBe(42);
    } finally {
      await worker.stop('warm');
    }
  }, 60_000);

  it('a wrong password fails within broker_connection_timeout, saying authentication failed, never hangs', async () => {
    const wrong = cluster!.url.replace('cl-s3cret', 'not-the-password');
    const app = new Celery('cluster-wrong-auth', { broker: wrong, broker_connection_timeout: 2 });
    try {
      const error = await app.sendTask('auth.add', [1, 2]).then(() => null, (e: unknown) => e as Error);
      expect(error).toBeInstanceOf(OperationalError);
      expect(error!.message).toMatch(/no connection could be made within 2 s \(\d+ attempts; last: .*(WRONGPASS|NOAUTH|invalid username-password)/);
      expect(error!.message).toMatch(/Authentication failed/);
      expect(error!.message).not.toContain('not-the-password');
    } finally {
      await app.close();
    }
  }, 60_000);
});
