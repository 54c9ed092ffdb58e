// Issue 19 item 8: time limits on the async pool cannot stop CPU-bound work; the worker says so at start.

import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { Celery } from '../../../src/index.js';
import { Worker } from '../../../src/worker/worker.js';

async function startupWarnings(limits: { timeLimit?: number }): Promise<string[]> {
  const ns = randomUUID();
  const app = new Celery('limits', { broker: `memory://${ns}`, backend: `memory://${ns}` });
  app.task((x: number) => x, { name: 'limits.plain' });
  app.task((x: number) => x, { name: 'limits.limited', ...limits });
  const worker = new Worker(app, { banner: false, pool: 'async', concurrency: 1, loglevel: 'CRITICAL' });
  const warnings: string[] = [];
  (worker.logger as { warn: (...a: unknown[]) => void }).warn = (...a: unknown[]) => void warnings.push(String(a[0]));
  try {
    await worker.start();
  } finally {
    await worker.stop('cold');
    await app.close();
  }
  return warnings;
}

describe('time limits on the async pool', () => {
  it('a task with a time limit: one warning at start naming it and the pools that enforce limits', async () => {
    const warnings = await startupWarnings({ timeLimit: 5 });
    const line = warnings.find((w) => /Time limits are set/.test(w));
    expect(line).toMatch(/for 1 task\(s\) \(limits\.limited\) on the async pool/);
    expect(line).toMatch(/-P prefork or -P threads/);
  });

  it('no limits: no warning', async () => {
    expect((await startupWarnings({})).filter((w) => /Time limits/.test(w))).toEqual([]);
  });
});

/** Busy-wait, holding the event loop (a CPU-bound task). */
function compute(ms: number): number {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) n++;
  return n;
}

describe('a CPU-bound task on the async pool', () => {
  async function setup() {
    const ns = randomUUID();
    const app = new Celery('busy', { broker: `memory://${ns}`, backend: `memory://${ns}` });
    const client = new Celery('busy', { broker: `memory://${ns}`, backend: `memory://${ns}` });
    const worker = new Worker(app, { banner: false, pool: 'async', concurrency: 2, loglevel: 'CRITICAL' });
    const warnings: string[] = [];
    (worker.logger as { warn: (...a: unknown[]) => void }).warn = (...a: unknown[]) => void warnings.push(String(a[0]));
    return {
      app,
      client,
      warnings,
      worker,
      async close() {
        await worker.stop('cold');
        await client.close();
        await app.close();
      },
    };
  }

  it('that returns after its hard limit is stored as TimeLimitExceeded, not SUCCESS, and is named in the log', async () => {
    const s = await setup();
    s.app.task(() => compute(1_300) > 0, { name: 'busy.sync', timeLimit: 0.5 });
    try {
      await s.worker.start();
      const result = await s.client.sendTask('busy.sync');
      const error = (await result.get({ timeout: 10, propagate: false })) as Error & { excType?: string };
      expect(await result.state()).toBe('FAILURE');
      expect(error.excType).toBe('TimeLimitExceeded');
      expect(s.warnings.find((w) => /^Task busy\.sync\[/.test(w))).toMatch(new RegExp(`^Task busy\\.sync\\[${result.id}\\] held the event loop for 1\\.\\d s\\. .*-P threads or -P prefork`));
      // Named once: the loop watch does not report the same block again.
      await new Promise((r) => setTimeout(r, 600));
      expect(s.warnings.filter((w) => /held the event loop|event loop was blocked/.test(w))).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('work after an await that blocks the loop is reported with the tasks running then; a task within its limit still succeeds', async () => {
    const s = await setup();
    s.app.task(async () => {
      await new Promise((r) => setTimeout(r, 10));
      return compute(1_300) > 0;
    }, { name: 'busy.after-await', timeLimit: 30 });
    try {
      await s.worker.start();
      const result = await s.client.sendTask('busy.after-await');
      expect(await result.get({ timeout: 10 })).toBe(true);
      await vi.waitFor(() => expect(s.warnings.some((w) => /^The event loop was blocked/.test(w))).toBe(true), { timeout: 5_000 });
      expect(s.warnings.find((w) => /^The event loop was blocked/.test(w))).toMatch(new RegExp(`blocked for 1\\.\\d s while busy\\.after-await\\[${result.id}\\] ran\\. `));
    } finally {
      await s.close();
    }
  });
});
