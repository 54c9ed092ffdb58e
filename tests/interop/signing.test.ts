// Message signing against real Python Celery 5.2 (celery.security on python3-cryptography), on a private Redis:
// a Python client set up with setup_security() runs a task on a celeriac worker and reads its signed result; a
// celeriac client's signed task runs on a Python worker; a celeriac worker that requires signatures refuses an
// unsigned task and one signed by a certificate outside its store, with a log line, and keeps working. Remote
// control is signed both ways too, and control_require_signed refuses an unsigned shutdown.

import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Celery } from '../../src/index.js';
import { EventReceiver } from '../../src/events/receiver.js';
import type { EventFields } from '../../src/protocol/events.js';
import { certDir, makeIdentity, makeStore, type TestIdentity } from '../support/certs.js';
import { repoRoot } from '../support/shared.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import { startCeleriacWorker, watch, type Proc } from './harness.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const PEER = join(repoRoot, 'tests/interop/py_signing.py');
const APP = join(repoRoot, 'tests/fixtures/signing-app.ts');

let redis: RedisServer;
let ts: TestIdentity;
let py: TestIdentity;
let mallory: TestIdentity;
let store: string;
let malloryStore: string;

const url = (db: number) => redis.url.replace(/\/0$/, `/${db}`);
const peer = async (args: string[]) => {
  const { stdout } = await run(PYTHON, [PEER, ...args], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
};
const signingApp = (db: number, id: TestIdentity, trusted = store) => {
  const app = new Celery('signing-client', {
    broker: url(db), backend: url(db + 1), task_serializer: 'auth', result_serializer: 'auth', accept_content: ['auth'],
    security_key: id.key, security_certificate: id.cert, security_cert_store: trusted,
  } as never);
  app.setupSecurity();
  return app;
};

// Python processes start slowly on a loaded machine: every test may take up to two minutes.
vi.setConfig({ testTimeout: 120_000 });

beforeAll(async () => {
  redis = await startRedis();
  const dir = certDir();
  ts = makeIdentity(dir, 'ts-node', { subject: '/C=FR/O=celeriac/CN=ts-node' });
  py = makeIdentity(dir, 'py-node', { subject: '/C=DE/O=Python Celery/CN=py-node' });
  mallory = makeIdentity(dir, 'mallory');
  store = makeStore(dir, 'trusted', [ts.cert, py.cert]);
  malloryStore = makeStore(dir, 'mallory-store', [mallory.cert, ts.cert, py.cert]);
}, 60_000);

afterAll(async () => {
  await redis?.stop();
});

describe('Python client (setup_security) → celeriac worker', () => {
  let worker: Proc;
  beforeAll(async () => {
    worker = await startCeleriacWorker({ broker: url(0), backend: url(1) }, ['-n', 'ts@signing'], APP, { SIGNING_KEY: ts.key, SIGNING_CERT: ts.cert, SIGNING_STORE: store, SIGNING_CONTROL: '1' });
  }, 90_000);
  afterAll(async () => {
    expect(await worker?.stop()).toBe(0);
  });

  it('runs the signed task, and Python verifies the signed result', async () => {
    const out = await peer(['call', url(0), url(1), py.key, py.cert, store, 'signing.add', '[2, 3]']);
    expect(out).toMatchObject({ state: 'SUCCESS', result: 5 });
    expect(worker.output()).toMatch(new RegExp(`signing\\.add\\[${out.id}\\] succeeded`));
  });

  it('refuses an unsigned task with a clear log line, never runs it, and keeps working', async () => {
    const { id } = await peer(['unsigned', url(0), url(1), 'signing.add', '[1, 1]']);
    await waitFor(() => worker.output().includes(`${id}`), worker.output);
    expect(worker.output()).toMatch(new RegExp(`Rejected message for task signing\\.add\\[${id}\\].*Refusing an unsigned message of type application/json.*only signed messages are accepted`));
    const app = signingApp(0, ts);
    try {
      expect(await app.AsyncResult(String(id)).state()).toBe('PENDING');
      const r = await app.sendTask<number>('signing.add', [20, 22]);
      expect(await r.get({ timeout: 60 })).toBe(42);
    } finally {
      await app.close();
    }
    expect(worker.output()).not.toMatch(new RegExp(`signing\\.add\\[${id}\\] succeeded`));
  });

  it("answers Python's signed `inspect ping` with a signed reply", async () => {
    expect(await peer(['inspect', url(0), url(1), py.key, py.cert, store])).toEqual({ 'ts@signing': { ok: 'pong' } });
  });

  it('with control_require_signed, drops an unsigned shutdown with a log line and keeps running', async () => {
    const plain = new Celery('plain', { broker: url(0), backend: url(1) });
    try {
      await plain.control.shutdown();
      await waitFor(() => worker.output().includes('Refused an unsigned control request shutdown'), worker.output);
      expect(worker.output()).toMatch(/Refused an unsigned control request shutdown: control_require_signed is on/);
      expect(await plain.control.ping({ timeout: 1 })).toEqual({});
    } finally {
      await plain.close();
    }
    const app = signingApp(0, ts);
    try {
      expect(await app.control.ping({ timeout: 30, limit: 1 })).toEqual({ 'ts@signing': { ok: 'pong' } });
    } finally {
      await app.close();
    }
    expect(worker.alive()).toBe(true);
  });

  it('refuses a task signed by a certificate outside its store', async () => {
    const app = signingApp(0, mallory, malloryStore);
    try {
      const r = await app.sendTask('signing.add', [6, 6]);
      await waitFor(() => worker.output().includes(r.id), worker.output);
      expect(worker.output()).toMatch(new RegExp(`Rejected message for task signing\\.add\\[${r.id}\\].*Unknown certificate: 'US celeriac tests mallory \\d+' is not in security_cert_store`));
      expect(await r.state()).toBe('PENDING');
    } finally {
      await app.close();
    }
  });
});

describe('celeriac client (setupSecurity) → Python worker', () => {
  let worker: Proc;
  beforeAll(async () => {
    worker = await watch(spawn(PYTHON, [PEER, 'worker', url(2), url(3), py.key, py.cert, store], { stdio: ['ignore', 'pipe', 'pipe'] }), /ready\./, 'Python signing worker');
  }, 90_000);
  afterAll(async () => {
    expect(await worker?.stop()).toBe(0);
  });

  it('runs the signed task, and celeriac verifies the signed result', async () => {
    const app = signingApp(2, ts);
    try {
      const r = await app.sendTask<number>('signing.add', [40, 2]);
      expect(await r.get({ timeout: 60 })).toBe(42);
      // Python logs the success after storing the result.
      await waitFor(() => new RegExp(`signing\\.add\\[${r.id}\\] succeeded`).test(worker.output()), worker.output);
    } finally {
      await app.close();
    }
  });

  it("reads the Python worker's signed task events (event_serializer 'auth')", async () => {
    const app = signingApp(2, ts);
    const events: EventFields[] = [];
    // No 5 s message TTL (the receiver's default, as Celery's): on a loaded machine the test may read late.
    const receiver = new EventReceiver(await app.getTransport(), (e) => events.push(e), { messageTtl: null });
    try {
      await receiver.start();
      const r = await app.sendTask<number>('signing.add', [1, 2]);
      expect(await r.get({ timeout: 60 })).toBe(3);
      await waitFor(() => events.some((e) => e.type === 'task-succeeded' && e.uuid === r.id), () => `events received: ${events.map((e) => `${e.type} ${String(e.uuid ?? '')}`).join(', ')}\n${worker.output()}`);
      expect(events.find((e) => e.type === 'task-succeeded' && e.uuid === r.id)).toMatchObject({ hostname: 'py@signing', result: '3' });
    } finally {
      await receiver.stop();
      await app.close();
    }
  });

  it('signs its remote-control requests, which the Python worker (accepting only auth) answers, signed', async () => {
    const app = signingApp(2, ts);
    try {
      expect(await app.control.ping({ timeout: 30, limit: 1 })).toEqual({ 'py@signing': { ok: 'pong' } });
    } finally {
      await app.close();
    }
  });
});

/** Poll `check` (a worker's log, events received) every 50 ms; `tail` is shown when it never holds. */
async function waitFor(check: () => boolean, tail: () => string = () => '', timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting; last output:\n${tail().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
