// Issue 19 item 8: time limits on the async pool cannot stop CPU-bound work; the worker says so at start.

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
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
