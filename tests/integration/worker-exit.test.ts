// Issue 19 item 7: a cold shutdown exits with code 1, as Celery's does (EX_FAILURE), also when it cuts short a warm
// shutdown that is waiting for a running task; a warm shutdown alone exits 0.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { startCeleriacWorker } from '../interop/harness.js';
import { repoRoot } from '../support/shared.js';

const fixture = join(repoRoot, 'tests/fixtures/hardening-app.ts');

async function printed(output: () => string, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pattern.test(output())) {
    if (Date.now() > until) throw new Error(`Never printed ${pattern}:\n${output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('worker exit codes', () => {
  it('SIGTERM then SIGINT while a task runs: cold shutdown, exit code 1; SIGTERM alone when idle: 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-exit-'));
    const urls = { broker: `sqlite:///${join(dir, 'broker.db')}`, backend: `sqlite:///${join(dir, 'results.db')}` };
    const client = new Celery('client', { broker: urls.broker, backend: urls.backend });
    try {
      const busy = await startCeleriacWorker(urls, ['-c', '1', '-n', 'cold@hardening'], fixture);
      const task = await client.sendTask('hardening.sleep', [60]);
      await printed(busy.output, new RegExp(`hardening\\.sleep\\[${task.id}\\] received`));
      busy.child.kill('SIGTERM');
      await printed(busy.output, /warm shutdown/);
      expect(await busy.stop('SIGINT')).toBe(1);
      expect(busy.output()).toMatch(/cold shutdown/);

      const idle = await startCeleriacWorker(urls, ['-c', '1', '-n', 'warm@hardening'], fixture);
      expect(await idle.stop('SIGTERM')).toBe(0);
    } finally {
      await client.close();
    }
  }, 120_000);
});
