// `celeriac worker --nodes 2`: two worker processes, each consuming from the broker directly, under one command that
// passes its signals on. Every task runs exactly once, both nodes take work, a warm shutdown ends them all.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { repoRoot } from '../support/shared.js';
import { startCeleriacWorker, type Proc } from '../interop/harness.js';

const fixture = join(repoRoot, 'tests/fixtures/counting-app.ts');
const procs: Proc[] = [];
const apps: Celery[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('celeriac worker --nodes', () => {
  it('runs every task once across two node processes and stops both on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-nodes-'));
    const url = `sqlite:///${join(dir, 'broker.db')}`;
    const execLog = join(dir, 'executions.log');
    process.env.CELERIAC_EXEC_LOG = execLog;
    const client = new Celery('client', { broker: url, backend: url, broker_transport_options: { polling_interval: 0.02 } });
    apps.push(client);
    const worker = await startCeleriacWorker({ broker: url, backend: url }, ['-n', 'node@sqlite', '--nodes', '2'], fixture);
    procs.push(worker);
    const bothReady = () => /node1@sqlite ready/.test(worker.output()) && /node2@sqlite ready/.test(worker.output());
    for (let i = 0; i < 600 && !bothReady(); i++) await sleep(50);
    expect(worker.output()).toMatch(/node1@sqlite ready/);
    expect(worker.output()).toMatch(/node2@sqlite ready/);

    const results = await Promise.all(Array.from({ length: 200 }, () => client.sendTask('counting.work', [5])));
    await Promise.all(results.map((r) => r.get({ timeout: 60 })));
    const lines = existsSync(execLog) ? readFileSync(execLog, 'utf8').trim().split('\n') : [];
    const ids = lines.map((l) => l.split(' ')[0]);
    const pids = new Set(lines.map((l) => Number(l.split(' ')[1])));
    expect(ids.length).toBe(200);
    expect(new Set(ids).size).toBe(200);
    expect(pids.size).toBe(2);
    expect(pids.has(worker.child.pid!)).toBe(false);

    expect(await worker.stop('SIGTERM')).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});
