// Real `celeriac worker` processes on a temporary SQLite file (the embedded default broker and backend):
// results across processes, no double execution, SIGKILL with acks_late loses nothing, warm shutdown returns
// prefetched messages, bad input is rejected with one log line.

import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-it-'));
  const url = `sqlite:///${join(dir, 'broker.db')}`;
  const execLog = join(dir, 'executions.log');
  const client = new Celery('client', { broker: url, backend: url, broker_transport_options: { polling_interval: 0.02 } });
  apps.push(client);
  const start = async (name: string, extra: string[] = [], env: Record<string, string> = {}) => {
    Object.assign(process.env, { CELERIAC_EXEC_LOG: execLog, ...env });
    const p = await startCeleriacWorker({ broker: url, backend: url }, ['-n', name, ...extra], fixture);
    procs.push(p);
    return p;
  };
  const executions = () => (existsSync(execLog) ? readFileSync(execLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ')[0]!) : []);
  return { dir, url, client, start, executions };
}

describe('celeriac workers on SQLite', () => {
  it('a client in this process reads results of a worker process', async () => {
    const { client, start } = setup();
    await start('w1@sqlite');
    const r = await client.sendTask<number>('counting.add', [20, 22]);
    expect(await r.get({ timeout: 15 })).toBe(42);
    expect(await r.state()).toBe('SUCCESS');
  });

  it('two workers sharing one queue never run a message twice', async () => {
    const { client, start, executions } = setup();
    await Promise.all([start('a@sqlite', ['-c', '4']), start('b@sqlite', ['-c', '4'])]);
    const results = await Promise.all(Array.from({ length: 300 }, () => client.sendTask('counting.work', [1])));
    await Promise.all(results.map((r) => r.get({ timeout: 60 })));
    const ran = executions();
    expect(ran.length).toBe(300);
    expect(new Set(ran).size).toBe(300);
  });

  it('SIGKILL while holding acks_late tasks loses none: another worker finishes them after the lease expires', async () => {
    const { client, start, executions } = setup();
    const env = { CELERIAC_LEASE_TIMEOUT: '2' };
    const doomed = await start('doomed@sqlite', ['-c', '2'], env);
    const results = await Promise.all(Array.from({ length: 10 }, () => client.sendTask('counting.late', [400])));
    for (let i = 0; i < 100 && executions().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(executions().length).toBeGreaterThanOrEqual(1);
    await doomed.stop('SIGKILL');
    await start('rescuer@sqlite', ['-c', '4'], env);
    const values = await Promise.all(results.map((r) => r.get({ timeout: 60 })));
    expect(values).toEqual(Array(10).fill(400));
    const ids = new Set(results.map((r) => r.id));
    expect(new Set(executions().filter((id) => ids.has(id)))).toEqual(ids);
  });

  it('warm shutdown finishes running tasks and returns prefetched ones', async () => {
    const { client, start, executions } = setup();
    const w = await start('warm@sqlite', ['-c', '1', '--prefetch-multiplier', '4']);
    const results = await Promise.all(Array.from({ length: 5 }, () => client.sendTask('counting.work', [600])));
    for (let i = 0; i < 100 && executions().length < 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await w.stop('SIGTERM')).toBe(0);
    expect(w.output()).toMatch(/Restoring \d+ unacknowledged message/);
    const doneBeforeStop = executions().length;
    expect(doneBeforeStop).toBeLessThan(5);
    await start('next@sqlite', ['-c', '4']);
    expect(await Promise.all(results.map((r) => r.get({ timeout: 30 })))).toEqual(Array(5).fill(600));
    expect(new Set(executions()).size).toBe(5);
  });

  it('bad input: one clear line each, FAILURE where the id is known, nothing stops the worker', async () => {
    const { client, url, start } = setup();
    const w = await start('strict@sqlite');
    const transport = await client.getTransport();
    const push = (body: string, contentType: string, headers: Record<string, unknown>) =>
      transport.publish({ body: Buffer.from(body), contentType, contentEncoding: 'utf-8', headers, properties: {} }, { exchange: '', routingKey: 'celery' });
    await push('[[1, 2], {}, {}]', 'application/x-python-serialize', { task: 'counting.add', id: 'pickle-id' });
    await push('[[1, 2], {}]', 'application/json', { task: 'counting.add', id: 'two-element-body' });
    await push('{not json', 'application/json', { task: 'counting.add', id: 'broken-json' });
    const unknown = await client.sendTask('counting.nope', []);
    // A row that is not an envelope at all, written straight into kombu's table.
    const file = url.replace('sqlite:///', '');
    const db = new Database(file);
    const queueId = (db.prepare('SELECT id FROM kombu_queue WHERE name = ?').get('celery') as { id: number }).id;
    db.prepare('INSERT INTO kombu_message (visible, timestamp, payload, version, queue_id) VALUES (1, NULL, ?, 1, ?)').run('garbage that is not JSON', queueId);
    db.close();
    const good = await client.sendTask<number>('counting.add', [1, 1]);
    expect(await good.get({ timeout: 15 })).toBe(2);
    expect(((await client.AsyncResult('two-element-body').get({ timeout: 5, propagate: false })) as Error).message).toMatch(/3-element array/);
    expect(((await client.AsyncResult('broken-json').get({ timeout: 5, propagate: false })) as Error).message).toMatch(/Malformed json/);
    expect(((await unknown.get({ timeout: 5, propagate: false })) as Error).name).toBe('NotRegistered');
    expect(await client.AsyncResult('pickle-id').state()).toBe('PENDING');
    const out = w.output();
    expect(out).toMatch(/untrusted content of type application\/x-python-serialize \(task pickle-id, queue celery\)/);
    expect(out).toMatch(/Received unregistered task of type 'counting.nope'/);
    expect(out).toMatch(/not JSON/);
    expect(w.alive()).toBe(true);
  });
});
