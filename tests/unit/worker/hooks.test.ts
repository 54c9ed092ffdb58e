// Task hooks of a custom base class run in the worker in Celery's order; the default no-op hooks are skipped.

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Celery, Task } from '../../../src/index.js';
import { Worker } from '../../../src/worker/worker.js';

describe('task hooks in the worker', () => {
  it('calls beforeStart, onSuccess/onFailure and afterReturn of a base class, and a throwing hook breaks nothing', async () => {
    const calls: string[] = [];
    class Audited extends Task {
      override beforeStart(taskId: string) {
        calls.push(`before:${taskId.slice(0, 4)}`);
      }
      override onSuccess(retval: unknown) {
        calls.push(`success:${String(retval)}`);
        throw new Error('hook bug');
      }
      override onFailure(error: unknown) {
        calls.push(`failure:${(error as Error).message}`);
      }
      override afterReturn(state: string) {
        calls.push(`after:${state}`);
      }
    }
    const ns = randomUUID();
    const app = new Celery('hooks', { broker: `memory://${ns}`, backend: `memory://${ns}` });
    const ok = app.task((x: number) => x + 1, { name: 'hooks.ok', base: Audited as never });
    const bad = app.task(() => {
      throw new Error('nope');
    }, { name: 'hooks.bad', base: Audited as never });
    const plain = app.task((x: number) => x * 2, { name: 'hooks.plain' });
    const worker = new Worker(app, { banner: false, concurrency: 1 });
    await worker.start();
    try {
      const r = await ok.applyAsync([1], {}, { taskId: 'aaaa-1' });
      expect(await r.get({ timeout: 5 })).toBe(2);
      await expect((await bad.applyAsync([], {}, { taskId: 'bbbb-2' })).get({ timeout: 5 })).rejects.toThrow(/nope/);
      expect(await (await plain.delay(4)).get({ timeout: 5 })).toBe(8);
      expect(calls).toEqual(['before:aaaa', 'success:2', 'after:SUCCESS', 'before:bbbb', 'failure:nope', 'after:FAILURE']);
    } finally {
      await worker.stop('cold');
    }
  });
});
