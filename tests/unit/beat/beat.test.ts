// Beat on the memory broker: entries checked at start, messages through the app's send path with
// periodic_task_name, one leader among several beats, takeover, and the schedule file across restarts.

import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Celery } from '../../../src/app/celery.js';
import { Beat } from '../../../src/beat/beat.js';
import { crontab } from '../../../src/beat/crontab.js';
import { FileStateStore } from '../../../src/beat/state.js';
import { SchedulingError } from '../../../src/errors.js';
import { Inbox } from '../../support/deliveries.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let n = 0;
function makeApp(broker = `memory://beat-${process.pid}-${++n}`, schedule: Record<string, unknown> = {}): Celery {
  const app = new Celery('beattest', { broker, beat_schedule: schedule });
  app.task(function add(a: number, b: number) { return a + b; }, { name: 'tasks.add' });
  cleanup.push(() => app.close());
  return app;
}

async function started(app: Celery, options: ConstructorParameters<typeof Beat>[1] = {}): Promise<Beat> {
  const beat = new Beat(app, options);
  await beat.start();
  cleanup.push(() => beat.stop());
  return beat;
}

async function inbox(app: Celery, queue = 'celery'): Promise<Inbox> {
  const box = new Inbox();
  const transport = await app.getTransport();
  await transport.declare({ name: queue });
  const sub = await transport.subscribe([queue], (d) => {
    box.push(d);
    void d.ack();
  }, { prefetch: 0 });
  cleanup.push(() => sub.cancel());
  return box;
}

const until = async (cond: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('beat checks the schedule before it sends anything', () => {
  it.each([
    [{ task: 'tasks.add', schedule: crontab({ minute: '61' }) }, "Entry 'bad', field schedule: invalid crontab minute \"61\""],
    [{ task: 'tasks.add', schedule: crontab({ day_of_week: 'funday' }) }, "Entry 'bad', field schedule: invalid crontab day_of_week \"funday\""],
    [{ task: 'tasks.ad', schedule: 10 }, "Entry 'bad', field task: task 'tasks.ad' is not registered"],
    [{ task: 'tasks.add', schedule: 0 }, "Entry 'bad', field schedule: the interval must be a number of seconds greater than 0"],
    [{ task: 'tasks.add', schedule: 5, options: { queue_name: 'x' } }, "Entry 'bad', field options.queue_name: not a send option"],
    [{ task: 'tasks.add', schedule: 5, every: 3 }, "Entry 'bad', field every: unknown field"],
  ])('%j', async (entry, message) => {
    const app = makeApp(undefined, { fine: { task: 'tasks.add', schedule: 5 }, bad: entry });
    const beat = new Beat(app);
    const error = await beat.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchedulingError);
    expect((error as Error).message).toContain(message);
    expect(beat.info().sent).toBe(0);
  });
});

describe('beat sends through the app', () => {
  it('each message carries periodic_task_name and the entry options; a remote task goes by name', async () => {
    const app = makeApp(undefined, {
      'add-often': { task: 'tasks.add', schedule: 0.2, args: [2, 3], options: { queue: 'reports', priority: 5, expires: 30 } },
      'python-task': { task: 'proj.tasks.mul', schedule: { milliseconds: 200 }, kwargs: { x: 2 }, remote: true },
    });
    const reports = await inbox(app, 'reports');
    const celery = await inbox(app);
    await started(app, { takeoverTimeout: 0.4 });
    const [first] = await reports.waitFor(1);
    const [other] = await celery.waitFor(1);
    expect(first!.message.headers).toMatchObject({ task: 'tasks.add', periodic_task_name: 'add-often' });
    expect(first!.message.headers.expires).toEqual(expect.any(String));
    expect(first!.message.properties.priority).toBe(5);
    expect(other!.message.headers).toMatchObject({ task: 'proj.tasks.mul', periodic_task_name: 'python-task' });
  });

  it('addPeriodicTask adds an entry named like the call', async () => {
    const app = makeApp();
    const name = app.addPeriodicTask(0.2, app.tasks.get('tasks.add').s(1, 2), { queue: 'q1' });
    expect(name).toBe('tasks.add(1, 2)');
    const box = await inbox(app, 'q1');
    await started(app, { takeoverTimeout: 0.4 });
    const [d] = await box.waitFor(1);
    expect(d!.message.headers.periodic_task_name).toBe('tasks.add(1, 2)');
  });
});

describe('several beats on one broker', () => {
  it('one leads, none sends a run twice, and a standby takes over when the leader stops', async () => {
    const broker = `memory://beat-ha-${process.pid}`;
    const schedule = { tick: { task: 'tasks.add', schedule: 0.1, args: [1, 1] } };
    const apps = [makeApp(broker, schedule), makeApp(broker, schedule), makeApp(broker, schedule)];
    const box = await inbox(apps[0]!);
    // When each run was sent, by whichever beat: a run sent twice would show as two sends ~0 ms apart.
    const sentAt: number[] = [];
    for (const app of apps) app.signals.connect('before_task_publish', () => void sentAt.push(performance.now()));
    // A takeover time a loaded machine cannot outstall (a stalled leader would lose its lease and look like two).
    const beats = await Promise.all(apps.map((app) => started(app, { takeoverTimeout: 2 })));
    await until(() => beats.some((b) => b.info().leader));
    expect(beats.filter((b) => b.info().leader)).toHaveLength(1);
    await box.waitFor(3);
    const leader = beats.find((b) => b.info().leader)!;
    await leader.stop();
    const before = box.deliveries.length;
    await until(() => beats.some((b) => b !== leader && b.info().leader));
    await box.waitFor(before + 3);
    const sent = beats.reduce((sum, b) => sum + b.info().sent, 0);
    await until(() => box.deliveries.length >= sent);
    expect(box.deliveries.length).toBe(sent);
    expect(sentAt).toHaveLength(sent);
    const gaps = sentAt.sort((a, b) => a - b).slice(1).map((t, i) => t - sentAt[i]!);
    expect(Math.min(...gaps)).toBeGreaterThan(50);
  });
});

describe('the schedule file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-beat-'));

  it('keeps last runs across a restart: nothing resent, nothing skipped', async () => {
    const file = join(dir, 'restart');
    const store = new FileStateStore(file, 0, () => undefined);
    expect(await store.claim('e', null, { lastRunAt: 1000, totalRunCount: 0 })).not.toBeNull();
    const first = await store.read('e');
    expect(await store.claim('e', first!.token, { lastRunAt: 2000, totalRunCount: 1 })).not.toBeNull();
    expect(await store.claim('e', first!.token, { lastRunAt: 3000, totalRunCount: 1 })).toBeNull();
    const reopened = new FileStateStore(file, 0, () => undefined);
    expect((await reopened.read('e'))!.state).toEqual({ lastRunAt: 2000, totalRunCount: 1 });
  });

  it('beats sharing a file elect one leader through its lock; the next leader reads what the last one wrote', async () => {
    const file = join(dir, 'shared');
    const a = new FileStateStore(file, 0, () => undefined);
    const b = new FileStateStore(file, 0, () => undefined);
    expect(await a.lead('a', 5_000)).toBe(true);
    expect(await b.lead('b', 5_000)).toBe(false);
    await a.claim('e', null, { lastRunAt: 42, totalRunCount: 3 });
    await a.close();
    expect(await b.lead('b', 5_000)).toBe(true);
    expect((await b.read('e'))!.state).toEqual({ lastRunAt: 42, totalRunCount: 3 });
    await b.close();
  });

  it('a corrupt file is reported, kept aside and rebuilt', async () => {
    const file = join(dir, 'corrupt');
    writeFileSync(file, 'SQLite format 3\0garbage');
    const problems: string[] = [];
    const store = new FileStateStore(file, 0, (m) => problems.push(m));
    expect(problems).toEqual([expect.stringMatching(/could not be read \(not JSON.*moved to .*corrupt.corrupt and a new one started/)]);
    expect(existsSync(`${file}.corrupt`)).toBe(true);
    await store.claim('e', null, { lastRunAt: 5, totalRunCount: 0 });
    expect(JSON.parse(readFileSync(file, 'utf8')).entries.e).toEqual({ last_run_at: 5, total_run_count: 0 });
  });
});
