// Python's event monitor (celery.events.Receiver + State, what Flower runs) and `celery events --dump` watching a
// celeriac worker and a Python worker side by side on Redis, both in Asia/Tokyo: worker and task events field
// for field, enable_events for a worker started without -E, one task-received for an ETA parked at the broker,
// task-sent from a celeriac client, and Celery 5.3+ stamps (written by hand: Celery 5.2 cannot stamp).

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { py as pyHarness, redisUrls, type Proc } from './harness.js';
import { celeryJson, pyTools, PYTHON, shapeOf, startCeleriacToolsWorker, startEventMonitor, startPythonToolsWorker, type EventMonitor } from './tools-harness.js';

const urls = redisUrls(inject('redisUrl'), 12);
const PY = 'py@tools-events';
const TS = 'ts@tools-events';
const TOKYO = { TZ: 'Asia/Tokyo' };
let monitor: EventMonitor;
let py: Proc;
let ts: Proc;

type Sent = { ids: string[]; state?: string; result?: unknown };
const send = (name: string, args: unknown[], queue: string, extra: string[] = []) => pyTools<Sent>(urls, ['send', name, JSON.stringify(args), '--queue', queue, ...extra]);
type Event = Record<string, unknown>;
const from = (host: string, type: string, uuid?: string) => (e: Event) => e.hostname === host && e.type === type && (uuid === undefined || e.uuid === uuid);

beforeAll(async () => {
  const r = new Redis(urls.broker);
  await r.flushdb();
  r.disconnect();
  // The monitor first, so the workers' worker-online events are seen.
  monitor = await startEventMonitor(urls);
  [py, ts] = await Promise.all([
    startPythonToolsWorker(urls, { hostname: PY, queues: 'py-events', events: true, env: TOKYO }),
    startCeleriacToolsWorker(urls, { hostname: TS, queues: 'ts-events', env: TOKYO }),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([py?.stop('SIGQUIT'), ts?.alive() ? ts.stop('SIGQUIT') : undefined]);
  if (monitor) await monitor.stop().catch(() => undefined);
});

describe('worker events', { timeout: 120_000 }, () => {
  it('worker-online and worker-heartbeat have Python\'s fields; utcoffset is hours west of UTC (-9 in Tokyo)', async () => {
    for (const type of ['worker-online', 'worker-heartbeat']) {
      const [p, t] = await Promise.all([monitor.waitFor(from(PY, type), `${type} from ${PY}`), monitor.waitFor(from(TS, type), `${type} from ${TS}`)]);
      expect(shapeOf(t)).toEqual(shapeOf(p));
      expect(t).toMatchObject({ utcoffset: -9, freq: 2, sw_ident: 'celeriac', sw_sys: 'Linux', active: 0 });
      expect(p.utcoffset).toBe(-9);
    }
  });
});

describe('task events', { timeout: 180_000 }, () => {
  it('a worker started without -E sends none, until a monitor sends enable_events (as Flower does every 5 s)', async () => {
    const quiet = await send('tools.add', [1, 2], 'ts-events');
    expect(quiet).toMatchObject({ state: 'SUCCESS', result: 3 });
    // A heartbeat asked for after the task: events from one worker arrive in order, so none was sent for it.
    const asked = Date.now() / 1000;
    await celeryJson(urls, 'control', 'heartbeat', ['-d', TS]);
    await monitor.waitFor((e) => from(TS, 'worker-heartbeat')(e) && e.freq === 5 && (e.timestamp as number) >= asked - 1, 'the requested heartbeat (freq 5)');
    expect(monitor.events.filter((e) => e.uuid === quiet.ids[0])).toEqual([]);
    expect(await celeryJson(urls, 'control', 'enable_events', ['-d', TS])).toEqual({ [TS]: { ok: 'task events enabled' } });
    const loud = await send('tools.add', [2, 3], 'ts-events');
    await monitor.waitFor(from(TS, 'task-succeeded', loud.ids[0]), 'task-succeeded after enable_events');
  });

  it('received, started, succeeded, failed, retried and revoked carry Python\'s fields', async () => {
    // Revoked before it is sent, so the worker discards it on arrival whatever the machine's load.
    const toRevoke = { 'py-events': randomUUID(), 'ts-events': randomUUID() };
    await celeryJson(urls, 'control', 'revoke', Object.values(toRevoke));
    const work = async (queue: keyof typeof toRevoke) => {
      const ok = (await send('tools.add', [2, 2], queue)).ids[0]!;
      const failed = (await send('tools.fail', ['nope'], queue)).ids[0]!;
      const retried = (await send('tools.retry_once', [], queue)).ids[0]!;
      const revoked = (await send('tools.add', [1, 1], queue, ['--countdown', '1', '--task-id', toRevoke[queue], '--no-wait'])).ids[0]!;
      return { ok, failed, retried, revoked };
    };
    const [p, t] = await Promise.all([work('py-events'), work('ts-events')]);
    const pairs: Array<[string, keyof typeof p]> = [
      ['task-received', 'ok'], ['task-started', 'ok'], ['task-succeeded', 'ok'], ['task-failed', 'failed'], ['task-revoked', 'revoked'],
    ];
    for (const [type, which] of pairs) {
      const [pe, te] = await Promise.all([monitor.waitFor(from(PY, type, p[which]), `${type} from ${PY}`), monitor.waitFor(from(TS, type, t[which]), `${type} from ${TS}`)]);
      expect(shapeOf(te), type).toEqual(shapeOf(pe));
    }
    // Python 5.2's threads pool sends no task-retried; its prefork pool sends these fields (captured from it).
    const retried = await monitor.waitFor(from(TS, 'task-retried', t.retried), `task-retried from ${TS}`);
    expect(Object.keys(retried).sort()).toEqual(['clock', 'exception', 'hostname', 'local_received', 'pid', 'timestamp', 'traceback', 'type', 'utcoffset', 'uuid']);
    expect(retried).toMatchObject({ exception: 'None', traceback: expect.stringMatching(/Retry/) });
    expect(monitor.events.find(from(TS, 'task-received', t.ok))).toMatchObject({ name: 'tools.add', args: '[2, 2]', kwargs: '{}', retries: 0, eta: null, utcoffset: -9 });
    expect(monitor.events.find(from(TS, 'task-succeeded', t.ok))).toMatchObject({ result: '4' });
    expect(monitor.events.find(from(TS, 'task-failed', t.failed))).toMatchObject({ exception: "ValueError('nope')" });
    expect(monitor.events.find(from(TS, 'task-revoked', t.revoked))).toMatchObject({ terminated: false, signum: null, expired: false });
  });

  it('an ETA parked at the broker is in `inspect scheduled` and is received once', async () => {
    // Far enough out that the CLI round trips below end before it is due, even on a loaded machine.
    const id = (await send('tools.add', [5, 5], 'ts-events', ['--countdown', '25', '--no-wait'])).ids[0]!;
    await monitor.waitFor(from(TS, 'task-received', id), 'task-received of the countdown task');
    const scheduled = await celeryJson<Array<{ request: { id: string } }>>(urls, 'inspect', 'scheduled', ['-d', TS]);
    expect(scheduled[TS]!.map((s) => s.request.id)).toContain(id);
    await monitor.waitFor(from(TS, 'task-succeeded', id), 'task-succeeded of the countdown task');
    expect(monitor.events.filter(from(TS, 'task-received', id))).toHaveLength(1);
  });

  it('task-sent from a celeriac client (task_send_sent_event) has the Python client\'s fields', async () => {
    const client = new Celery('client', { broker: urls.broker, backend: urls.backend, task_send_sent_event: true });
    try {
      const mine = await client.sendTask('tools.add', [3, 4], {}, { queue: 'ts-events' });
      const theirs = (await send('tools.add', [3, 4], 'py-events', ['--sent-event', '--no-wait'])).ids[0]!;
      const [pe, te] = await Promise.all([
        monitor.waitFor((e) => e.type === 'task-sent' && e.uuid === theirs, 'task-sent from Python'),
        monitor.waitFor((e) => e.type === 'task-sent' && e.uuid === mine.id, 'task-sent from celeriac'),
      ]);
      expect(shapeOf(te)).toEqual(shapeOf(pe));
      expect(te).toMatchObject({ name: 'tools.add', args: '[3, 4]', queue: 'ts-events', exchange: '', routing_key: 'ts-events', hostname: expect.stringMatching(/^gen\d+@/) });
    } finally {
      await client.close();
    }
  });

  it('`celery events --dump` prints celeriac\'s task events', async () => {
    const dump = spawn(PYTHON, ['-m', 'celery', '-b', urls.broker, 'events', '--dump'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output = watchOutput(dump.stdout);
    try {
      // The dumper wakes workers up when it starts: celeriac's heartbeat shows it is listening.
      await output.until((out) => out.includes(`${TS} [`), `a line from ${TS}`);
      const id = (await send('tools.add', [6, 7], 'ts-events')).ids[0]!;
      await output.until((out) => new RegExp(`${TS} \\[.*\\] task succeeded: tools.add\\(${id}\\).*result=13`).test(out), `the succeeded line of ${id}`);
    } finally {
      dump.kill('SIGKILL');
    }
  });
});

describe('stamps (Celery 5.3+), written by hand', { timeout: 120_000 }, () => {
  const stamped = { stamped_headers: ['mon'], stamps: { mon: 'v1' } };

  it('a stamped message from a Python client: stamped_headers and stamps on self.request', async () => {
    expect(await send('tools.stamps', [], 'ts-events', ['--stamps', JSON.stringify({ mon: 'v1' })])).toMatchObject({ state: 'SUCCESS', result: stamped });
  });

  it('a retry keeps the stamps', async () => {
    expect(await send('tools.retry_once', [], 'ts-events', ['--stamps', JSON.stringify({ mon: 'v1' })])).toMatchObject({ state: 'SUCCESS', result: stamped });
  });

  it('a chain step sent by celeriac keeps its stamps: the Python step after it sees them', async () => {
    const chain = JSON.stringify([{ task: 'tools.stamps', queue: 'py-events', stamps: { mon: 'v2' } }]);
    const out = await send('tools.stamps', [], 'ts-events', ['--stamps', JSON.stringify({ mon: 'v1' }), '--chain', chain]);
    expect(out).toMatchObject({ state: 'SUCCESS', result: { stamped_headers: ['mon'], stamps: { mon: 'v2' } } });
  });

  it('revoke_by_stamped_headers reaches celeriac: a waiting task is discarded, a running one terminated', async () => {
    const replies = await pyHarness<Record<string, unknown>>(urls, ['inspect', 'revoke_by_stamped_headers', JSON.stringify({ headers: { mon: ['r1'] }, terminate: false, signal: 'SIGTERM' })]);
    expect(replies[TS]).toEqual({ ok: "headers {'mon': ['r1']} flagged as revoked, but not terminated" });
    expect(await send('tools.stamps', [], 'ts-events', ['--stamps', JSON.stringify({ mon: 'r1' }), '--timeout', '20'])).toMatchObject({ state: 'REVOKED' });
    const running = (await send('tools.sleep', [120], 'ts-events', ['--stamps', JSON.stringify({ mon: 'r2' }), '--no-wait'])).ids[0]!;
    await monitor.waitFor(from(TS, 'task-started', running), 'the stamped sleep starting');
    const stopped = await pyHarness<Record<string, unknown>>(urls, ['inspect', 'revoke_by_stamped_headers', JSON.stringify({ headers: { mon: 'r2' }, terminate: true, signal: 'SIGTERM' })]);
    expect(stopped[TS]).toEqual({ ok: "headers {'mon': ['r2']} revoked" });
    await monitor.waitFor((e) => from(TS, 'task-revoked', running)(e) && e.terminated === true && e.signum === 15, 'task-revoked (terminated)');
  });
});

describe('what celery.events.state.State (Flower\'s model) makes of the celeriac worker', { timeout: 120_000 }, () => {
  it('an online worker with its processed count, and its tasks with state, result and worker', async () => {
    const id = (await send('tools.add', [20, 22], 'ts-events')).ids[0]!;
    await monitor.waitFor(from(TS, 'task-succeeded', id), 'the last task-succeeded');
    const state = await monitor.stop();
    expect(state.workers[TS]).toMatchObject({ alive: true, sw_ident: 'celeriac', sw_sys: 'Linux', freq: 2 });
    expect(state.workers[TS]!.processed).toBeGreaterThanOrEqual(5);
    expect(state.tasks[id]).toMatchObject({ state: 'SUCCESS', name: 'tools.add', worker: TS, result: '42' });
    const failure = Object.values(state.tasks).find((t) => t.worker === TS && t.state === 'FAILURE');
    expect(failure).toMatchObject({ name: 'tools.fail', exception: "ValueError('nope')" });
  });
});

/** Collects a stream's text; `until` resolves as soon as the text satisfies `done` (checked on every chunk). */
function watchOutput(stream: NodeJS.ReadableStream) {
  let out = '';
  const checks = new Set<() => void>();
  stream.on('data', (b: Buffer) => {
    out += b.toString();
    for (const check of [...checks]) check();
  });
  return {
    until(done: (text: string) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          checks.delete(check);
          reject(new Error(`events --dump printed no ${what} within ${timeoutMs} ms:\n${out.slice(-2000)}`));
        }, timeoutMs);
        const check = () => {
          if (!done(out)) return;
          clearTimeout(timer);
          checks.delete(check);
          resolve();
        };
        checks.add(check);
        check();
      });
    },
  };
}
