// file:// results shared with Python Celery 5.2.6 through one directory, both ways: a Python client reads what a
// celeriac worker wrote, and a celeriac client reads what a Python worker wrote (a private redis-server carries
// the tasks).

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery, RemoteTaskError } from '../../src/index.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import { py, startCeleriacWorker, startPythonWorker, type Proc, type PyOutcome, type Urls } from './harness.js';

let redis: RedisServer;
let dir: string;
let toTs: Urls;
let toPy: Urls;
const workers: Proc[] = [];

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'celeriac-file-interop-'));
  const root = redis.url.replace(/\/\d*$/, '');
  toTs = { broker: `${root}/0`, backend: `file://${dir}` };
  toPy = { broker: `${root}/1`, backend: `file://${dir}` };
  workers.push(...(await Promise.all([startCeleriacWorker(toTs), startPythonWorker(toPy, { pool: 'solo', concurrency: 1 })])));
}, 60_000);

afterAll(async () => {
  const codes = await Promise.all(workers.map((w) => w.stop()));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(codes).toEqual([0, 0]);
});

describe('file:// results between Python and celeriac', () => {
  it('a Python client reads a celeriac worker\'s SUCCESS and FAILURE from the directory', async () => {
    const ok = await py<PyOutcome>(toTs, ['call', 'interop.add', '[2, 3]']);
    expect(ok).toMatchObject({ state: 'SUCCESS', result: 5 });
    const failed = await py<PyOutcome>(toTs, ['call', 'interop.fail', '["nope"]']);
    expect(failed).toMatchObject({ state: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['nope'], exc_module: 'builtins' } });
    expect(failed.traceback).toMatch(/ValueError: nope/);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining([`celery-task-meta-${ok.id}`, `celery-task-meta-${failed.id}`]));
  });

  it('a celeriac client reads a Python worker\'s SUCCESS and FAILURE from the directory', async () => {
    const app = new Celery('client', { broker: toPy.broker, backend: toPy.backend });
    try {
      const sum = await app.sendTask<number>('interop.add', [20, 22]);
      expect(await sum.get({ timeout: 20, interval: 0.05 })).toBe(42);
      const failed = await app.sendTask('interop.fail', ['bad']);
      const error = (await failed.get({ timeout: 20, interval: 0.05, propagate: false })) as RemoteTaskError;
      expect(error).toBeInstanceOf(RemoteTaskError);
      expect(error.excType).toBe('ValueError');
      expect(await failed.traceback()).toMatch(/ValueError: bad/);
    } finally {
      await app.close();
    }
  });
});
