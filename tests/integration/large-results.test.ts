// Issue 19 item 1: a list result of 1,000,000 items is stored by a real worker and read back whole on the SQL
// result backends (SQLite, PostgreSQL), by get(), state() and `celeriac result` piped into another program.

import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { repoRoot } from '../support/shared.js';
import { createTestDatabase } from '../support/postgres.js';
import { startCeleriacWorker } from '../interop/harness.js';

const run = promisify(execFile);
const fixture = join(repoRoot, 'tests/fixtures/hardening-app.ts');
const N = 1_000_000;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const backends: Array<[string, () => Promise<string>]> = [
  ['SQLite', async () => `sqlite:///${join(mkdtempSync(join(tmpdir(), 'celeriac-large-')), 'results.db')}`],
  ['PostgreSQL', async () => {
    const db = await createTestDatabase(inject('postgresUrl'), 'celeriac_large');
    cleanups.push(() => db.drop());
    return db.url;
  }],
];

describe.each(backends)('a %s result backend', (_name, backendUrl) => {
  it('gives back a 1,000,000-item list result whole: get(), state() and `celeriac result | wc -c`', async () => {
    const backend = await backendUrl();
    const broker = `sqlite:///${join(mkdtempSync(join(tmpdir(), 'celeriac-large-')), 'broker.db')}`;
    const worker = await startCeleriacWorker({ broker, backend }, ['-c', '1', '-n', 'large@hardening'], fixture);
    cleanups.push(() => worker.stop('SIGKILL'));
    const client = new Celery('client', { broker, backend, broker_transport_options: { polling_interval: 0.05 } });
    cleanups.push(() => client.close());

    const result = await client.sendTask<number[]>('hardening.range', [N]);
    const value = await result.get({ timeout: 150_000 });
    expect(value.length).toBe(N);
    expect(value[N - 1]).toBe(N - 1);
    expect(await result.state()).toBe('SUCCESS');

    // The CLI exits only once the pipe has taken all of it (it used to stop at 64 KiB).
    const cli = `'${process.execPath}' '${join(repoRoot, 'bin/celeriac.js')}' result ${result.id} -A '${fixture}' --result-backend '${backend}'`;
    const { stdout } = await run('sh', ['-c', `${cli} | wc -c`], { cwd: repoRoot, timeout: 120_000 });
    expect(Number(stdout.trim())).toBe(JSON.stringify(value).length + 1);
  }, 300_000);
});
