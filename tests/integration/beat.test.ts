// Beat against real brokers: a 1 s entry runs N±1 times in N seconds; two `celeriac beat` processes elect one
// leader through the broker, and after `kill -9` of the leader the other takes over within the default bound
// (beat_takeover_timeout, 10 s) and sends what fell due meanwhile once, with no run sent twice. The takeover time
// and the duplicate count are printed for the record.

import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Beat, Celery } from '../../src/index.js';
import type { Delivery } from '../../src/transports/transport.js';
import { repoRoot } from '../support/shared.js';
import { startCeleriacBeat, startCeleriacWorker, type Proc } from '../interop/harness.js';

const fixture = join(repoRoot, 'tests/fixtures/beat-app.ts');
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});

const brokers: Record<string, () => string> = {
  redis: () => inject('redisUrl').replace(/\/\d+$/, '/1'),
  sqlite: () => `sqlite:///${join(mkdtempSync(join(tmpdir(), 'celeriac-beat-')), 'broker.db')}`,
  postgresql: () => inject('postgresUrl'),
};

/** Arrival times (ms, monotonic) of messages on `queue`. */
async function arrivals(broker: string, queue: string): Promise<number[]> {
  const client = new Celery('beat-observer', { broker, broker_transport_options: { polling_interval: 0.02 } });
  const times: number[] = [];
  const transport = await client.getTransport();
  await transport.declare({ name: queue });
  const sub = await transport.subscribe([queue], (d: Delivery) => {
    times.push(performance.now());
    void d.ack();
  }, { prefetch: 0 });
  cleanup.push(async () => {
    await sub.cancel();
    await client.close();
  });
  return times;
}

const until = async (what: string, cond: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

/** Runs sent twice: two arrivals much closer together than the 1 s interval. */
const duplicates = (times: number[]) => times.slice(1).filter((t, i) => t - times[i]! < 500).length;

describe('celeriac beat with a bad schedule', () => {
  it('exits 78 before sending, naming the entry and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-beat-bad-'));
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin/celeriac.js'), 'beat', '-A', fixture, '-b', `sqlite:///${join(dir, 'b.db')}`], {
      cwd: repoRoot, env: { ...process.env, CELERIAC_BEAT_EVERY: '0' }, encoding: 'utf8', timeout: 60_000,
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain("Entry 'tick', field schedule: the interval must be a number of seconds greater than 0");
  });
});

describe('a worker with -B', () => {
  it('runs the schedule it sends, each message named by periodic_task_name, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-beat-b-'));
    const broker = `sqlite:///${join(dir, 'broker.db')}`;
    const log = join(dir, 'executions.log');
    const queue = `beat-b-${randomUUID()}`;
    Object.assign(process.env, { CELERIAC_EXEC_LOG: log, CELERIAC_BEAT_QUEUE: queue, CELERIAC_BEAT_NS: `beat-b-${randomUUID()}` });
    const worker = await startCeleriacWorker({ broker, backend: broker }, ['-B', '-Q', queue, '-n', 'b@beat'], fixture);
    cleanup.push(() => worker.stop('SIGKILL'));
    const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
    await until('the worker runs two beat runs', () => lines().length >= 2, 20_000);
    expect(lines().every((l) => l.endsWith(' tick'))).toBe(true);
    expect(await worker.stop('SIGTERM')).toBe(0);
  });
});

describe.each(['redis', 'sqlite'])('beat on %s', (kind) => {
  it('a 1 s entry runs N±1 times in N seconds', async () => {
    const broker = brokers[kind]!();
    const queue = `beat-rate-${randomUUID()}`;
    const times = await arrivals(broker, queue);
    const app = new Celery(`beat-rate-${randomUUID()}`, {
      broker,
      broker_transport_options: { polling_interval: 0.02 },
      beat_schedule: { tick: { task: 'beat.tick', schedule: 1, options: { queue }, remote: true } },
    });
    cleanup.push(() => app.close());
    const beat = new Beat(app);
    await beat.start();
    const started = performance.now();
    const N = 6;
    await new Promise((r) => setTimeout(r, N * 1000));
    await beat.stop();
    const elapsed = (performance.now() - started) / 1000;
    await until('messages arrive', () => times.length >= beat.info().sent, 5_000);
    expect(times.length).toBe(beat.info().sent);
    expect(Math.abs(times.length - Math.floor(elapsed))).toBeLessThanOrEqual(1);
    expect(duplicates(times)).toBe(0);
  });
});

// RabbitMQ keeps no beat state: there the beats elect their leader through the result backend (Redis here), or,
// without a result backend, through the lock of the schedule file they share.
describe.each(['redis', 'sqlite', 'postgresql', 'rabbitmq', 'rabbitmq + schedule file'])('two beats on %s', (kind) => {
  it('elect one leader; after kill -9 of it the other takes over within 10 s, no run sent twice', async () => {
    const broker = kind.startsWith('rabbitmq') ? inject('amqpUrl') : brokers[kind]!();
    const extra = kind === 'rabbitmq' ? ['--result-backend', brokers.redis!()]
      : kind === 'rabbitmq + schedule file' ? ['-s', join(mkdtempSync(join(tmpdir(), 'celeriac-beat-file-')), 'schedule')] : [];
    const queue = `beat-ha-${randomUUID()}`;
    const env = { CELERIAC_BEAT_NS: `beat-ha-${randomUUID()}`, CELERIAC_BEAT_QUEUE: queue };
    const times = await arrivals(broker, queue);
    const procs: Proc[] = await Promise.all([startCeleriacBeat(broker, fixture, extra, env), startCeleriacBeat(broker, fixture, extra, env)]);
    cleanup.push(() => Promise.all(procs.map((p) => p.stop('SIGKILL'))));
    const leads = (p: Proc) => /is now the leader/.test(p.output());
    await until('a leader is elected', () => procs.some(leads), 20_000);
    await until('the leader sends', () => times.length >= 3, 15_000);
    expect(procs.filter(leads)).toHaveLength(1);
    const leader = procs.find(leads)!;
    const standby = procs.find((p) => p !== leader)!;

    leader.child.kill('SIGKILL');
    const killedAt = performance.now();
    const before = times.length;
    await until('the standby takes over', () => leads(standby), 20_000);
    await until('the standby sends', () => times.length >= before + 4, 20_000);
    const firstAfter = times.find((t) => t > killedAt)!;
    const takeover = (firstAfter - killedAt) / 1000;
    const dups = duplicates(times);
    process.stdout.write(`beat takeover on ${kind}: ${takeover.toFixed(2)} s after kill -9; ${times.length} runs sent, ${dups} duplicates\n`);
    expect(takeover).toBeLessThan(12);
    expect(dups).toBe(0);
  });
});
