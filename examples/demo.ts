// `npm run demo`: a worker and a client talking through the embedded SQLite default, with no server.
// Starts `celeriac worker -A examples/tasks.ts` in a fresh directory, sends a handful of tasks (one fails,
// one retries), prints each result with its state, and stops the worker with a warm shutdown.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AsyncResult } from 'celeriac';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const workDir = mkdtempSync(join(tmpdir(), 'celeriac-demo-'));
process.chdir(workDir); // the embedded default is sqlite://celeriac.db in the working directory

console.log(`Working directory: ${workDir}\nStarting a worker on the embedded SQLite broker…\n`);
const worker = spawn(process.execPath, [join(root, 'bin/celeriac.js'), 'worker', '-A', join(root, 'examples/tasks.ts'), '--loglevel=info', '-c', '4'], {
  cwd: workDir,
  stdio: ['ignore', 'pipe', 'pipe'],
});
const ready = new Promise<void>((resolveReady, reject) => {
  const onLine = (chunk: Buffer) => {
    const text = chunk.toString();
    for (const line of text.split('\n')) if (line.trim()) console.log(`  worker | ${line}`);
    if (text.includes('ready.')) resolveReady();
  };
  worker.stdout.on('data', onLine);
  worker.stderr.on('data', onLine);
  worker.on('exit', (code) => reject(new Error(`worker exited early with code ${code}`)));
});
await ready;

const { add, mul, xsum, fail, flaky, slow, app } = await import(join(root, 'examples/tasks.ts'));

async function show(label: string, result: AsyncResult) {
  const value = await result.get({ timeout: 15, propagate: false });
  const state = await result.state();
  const shown = value instanceof Error ? `${value.name}: ${value.message.replace(/^[^:]*: /, '')}` : JSON.stringify(value);
  console.log(`\n${label.padEnd(28)} ${result.id}  ${state.padEnd(8)} ${shown}`);
  if (state === 'FAILURE') console.log(`${''.padEnd(28)} traceback: ${(await result.traceback())?.split('\n')[0]}`);
}

const sent: Array<[string, Promise<AsyncResult>]> = [
  ['add.delay(2, 3)', add.delay(2, 3)],
  ['mul.delay(6, 7)', mul.delay(6, 7)],
  ['xsum.delay([1..10])', xsum.delay([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])],
  ['add countdown=1s', add.applyAsync([40, 2], {}, { countdown: 1 })],
  ['fail.delay("boom")', fail.delay('boom')],
  ['flaky.delay(3) (retries)', flaky.delay(3)],
  ['slow.delay(300) (acks_late)', slow.delay(300)],
];
for (const [label, pending] of sent) await show(label, await pending);

await app.close();
console.log('\nStopping the worker (warm shutdown)…');
worker.kill('SIGTERM');
const code = await new Promise<number | null>((r) => worker.on('exit', r));
console.log(`Worker exited with code ${code}.`);
process.exit(code === 0 ? 0 : 1);
