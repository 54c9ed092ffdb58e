// A prefork child that dies mid-task (Celery's WorkerLostError) × {plain, chain member, chord member, link_error},
// and its requeue with acks_late + task_reject_on_worker_lost. Over SQLite, so the children's own results (the
// errbacks') and the parent's (the lost tasks') are all visible to the test.

import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery, chain, chord } from '../../../src/index.js';
import { RemoteTaskError } from '../../../src/errors.js';
import { Signature } from '../../../src/canvas/signature.js';
import { Worker } from '../../../src/worker/worker.js';

const APP_MODULE = `${fileURLToPath(new URL('../../fixtures/pool-app.ts', import.meta.url))}:app`;
const dir = mkdtempSync(join(tmpdir(), 'celeriac-lost-'));
const url = `sqlite:///${join(dir, 'broker.db')}`;
let client: Celery;
let worker: Worker;

beforeAll(async () => {
  // The parent's stubs carry the policies; the children run the fixture's real tasks.
  const parent = new Celery('pool', { broker: url, backend: url, broker_transport_options: { polling_interval: 0.02 }, worker_proc_alive_timeout: 30 });
  for (const name of ['pool.whoami', 'pool.exit', 'pool.types']) parent.task(() => { throw new Error('runs in a child only'); }, { name });
  parent.task(() => { throw new Error('runs in a child only'); }, { name: 'pool.exitOnce', acksLate: true, rejectOnWorkerLost: true });
  client = new Celery('client', { broker: url, backend: url });
  worker = new Worker(parent, { banner: false, concurrency: 2, pool: 'prefork', appModule: APP_MODULE, loglevel: 'CRITICAL' });
  await worker.start();
}, 60_000);

afterAll(async () => {
  await worker?.stop('cold');
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

const lostMessage = /^Worker exited prematurely: exitcode 3 Job: [0-9a-f-]{36}\.$/;

async function failure(id: string): Promise<RemoteTaskError> {
  const value = await client.AsyncResult(id).get({ timeout: 30, propagate: false });
  expect(value).toBeInstanceOf(RemoteTaskError);
  return value as RemoteTaskError;
}

describe('prefork: a child lost mid-task', () => {
  it('plain, chain member, chord member and link_error each end as Celery ends them', async () => {
    const si = (name: string, args: unknown[] = [], options: Record<string, unknown> = {}) => new Signature(name, args, {}, options, true, client);
    const [plainEb, chordEb] = [randomUUID(), randomUUID()];
    const errback = (id: string) => [client.signature('pool.types', [], {}, { task_id: id }).toDict()];
    const plain = await si('pool.exit', [3], { link_error: errback(plainEb) }).applyAsync();
    const last = await chain(si('pool.whoami'), si('pool.exit', [3]), si('pool.whoami')).applyAsync();
    const body = client.signature('pool.types', [], {}, { link_error: errback(chordEb) });
    const chordResult = await chord([si('pool.whoami'), si('pool.exit', [3])], body).applyAsync();

    // Plain: FAILURE WorkerLostError stored by the parent, in billiard's module; its errback gets its id.
    const lost = await failure(plain.id);
    expect([lost.excType, lost.excModule]).toEqual(['WorkerLostError', 'billiard.exceptions']);
    expect(lost.excMessage).toEqual([expect.stringMatching(lostMessage)]);
    expect(await client.AsyncResult(plainEb).get({ timeout: 30 })).toMatchObject({ text: plain.id });

    // Chain member: the last step fails with the same error at once.
    expect((await failure(last.id)).excType).toBe('WorkerLostError');

    // Chord member: the body fails with ChordError naming the lost member; the body's errback gets the body's id.
    const chordError = await failure(chordResult.id);
    expect(chordError.excType).toBe('ChordError');
    expect(chordError.excMessage).toEqual([expect.stringMatching(/raised WorkerLostError\('Worker exited prematurely: exitcode 3 Job: [0-9a-f-]{36}\.'\)$/)]);
    expect(await client.AsyncResult(chordEb).get({ timeout: 30 })).toMatchObject({ text: chordResult.id });
  }, 120_000);

  it('acks_late + task_reject_on_worker_lost: requeued, nothing stored for the lost run; the redelivery runs', async () => {
    const marker = join(dir, `marker-${randomUUID()}`);
    const r = await client.sendTask('pool.exitOnce', [marker]);
    expect(await r.get({ timeout: 60 })).toBe('second run');
    expect(existsSync(marker)).toBe(true);
    expect(worker.state.total.get('pool.exitOnce')).toBe(2);
  }, 120_000);
});
