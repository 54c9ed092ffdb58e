// Issue 19 item 4: a Redis password never shows in what a user prints or logs: the app, its transport and backend
// under util.inspect (every depth, hidden properties too), and an AUTH failure's error and its causes. The CLI reads
// the URLs from CELERY_BROKER_URL / CELERY_RESULT_BACKEND so they need not be on its command line.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery, OperationalError } from '../../src/index.js';
import { repoRoot } from '../support/shared.js';
import { startRedis, type RedisServer } from '../support/servers.js';

const run = promisify(execFile);
const SECRET = 'Pw-4f9c2e-never-printed';
const everything = (value: unknown) => inspect(value, { depth: Infinity, showHidden: true, getters: true });

describe('secrets on a Redis server with requirepass', () => {
  let server: RedisServer;
  let url: (db: number, password?: string) => string;
  beforeAll(async () => {
    server = await startRedis({ password: SECRET });
    url = (db, password = SECRET) => `redis://:${password}@127.0.0.1:${server.port}/${db}`;
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('util.inspect of the app, its transport and backend, once connected, never shows the password', async () => {
    const app = new Celery('secrets', { broker: url(0), backend: url(1) });
    try {
      const result = await app.sendTask('secrets.nothing', [1]);
      await (await app.getBackend()).store(result.id, { status: 'SUCCESS', result: 1, traceback: null, children: [], date_done: null, task_id: result.id } as never);
      expect(await result.state()).toBe('SUCCESS');
      for (const value of [app, app.conf, await app.getTransport(), await app.getBackend()]) {
        const text = everything(value);
        expect(text).not.toContain(SECRET);
      }
      expect(everything(await app.getTransport())).toContain('redis://:**@127.0.0.1');
    } finally {
      await app.close();
    }
  }, 30_000);

  it('an AUTH failure: the error, its causes and what a logger serializes carry no password', async () => {
    const wrong = `${SECRET}-wrong`;
    const app = new Celery('secrets', { broker: url(0, wrong), backend: url(1, wrong) });
    try {
      const errors: unknown[] = [];
      await app.sendTask('secrets.nothing').catch((e: unknown) => errors.push(e));
      await (await app.getBackend()).get('some-id').catch((e: unknown) => errors.push(e));
      expect(errors).toHaveLength(2);
      for (const error of errors) {
        expect(error).toBeInstanceOf(OperationalError);
        expect((error as Error).message).toMatch(/Authentication failed/);
        const cause = (error as Error).cause as { command?: { name: string; args: unknown[] } };
        expect(cause.command?.name).toBe('auth');
        for (const text of [everything(error), String(error), (error as Error).stack ?? '', JSON.stringify({ ...(error as object), cause })]) {
          expect(text).not.toContain(SECRET);
        }
      }
    } finally {
      await app.close();
    }
  }, 30_000);

  it('the CLI takes the broker and backend from CELERY_BROKER_URL / CELERY_RESULT_BACKEND (-b still wins)', async () => {
    const app = new Celery('secrets', { broker: url(2), backend: url(3) });
    const result = await app.sendTask('secrets.nothing');
    await (await app.getBackend()).store(result.id, { status: 'SUCCESS', result: 'from env', traceback: null, children: [], date_done: null, task_id: result.id } as never);
    await app.close();
    const cli = [join(repoRoot, 'bin/celeriac.js'), 'result', result.id];
    const env = { ...process.env, CELERY_BROKER_URL: url(2), CELERY_RESULT_BACKEND: url(3) };
    const { stdout } = await run(process.execPath, cli, { cwd: repoRoot, env, timeout: 60_000 });
    expect(stdout.trim()).toBe('from env');
    const wrongFlag = await run(process.execPath, [...cli, '--result-backend', url(3, 'wrong')], { cwd: repoRoot, env, timeout: 60_000 }).catch((e: { stderr: string; code: number }) => e);
    expect((wrongFlag as { code: number }).code).toBe(69);
    expect((wrongFlag as { stderr: string }).stderr).toMatch(/Authentication failed/);
    expect((wrongFlag as { stderr: string }).stderr).not.toContain(SECRET);
  }, 90_000);
});
