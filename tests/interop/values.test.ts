// Values both ways with Debian's Python Celery 5.2 on a private Redis: integers past 2^53 (json and msgpack), bytes
// (msgpack carries them; json refuses them on both sides), and naive eta/expires from a Python client reaching a
// celeriac worker whose machine clock is in Asia/Tokyo (they are UTC, as in Celery).

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Celery } from '../../src/index.js';
import { EncodeError } from '../../src/errors.js';
import { repoRoot } from '../support/shared.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import { redisUrls, startCeleriacWorker, startPythonWorker, type Proc, type Urls } from './harness.js';

const run = promisify(execFile);
const PEER = join(repoRoot, 'tests/interop/values_peer.py');
const APP = join(repoRoot, 'tests/fixtures/values-app.ts');
const BIG = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 10n ** 30n];

let redis: RedisServer;
let urls: Urls;
const procs: Proc[] = [];

beforeAll(async () => {
  redis = await startRedis();
  urls = redisUrls(redis.url, 0);
  const tokyo = { TZ: 'Asia/Tokyo' };
  procs.push(
    await startCeleriacWorker(urls, ['-Q', 'values-json', '-n', 'json@values', '-c', '2'], APP, { ...tokyo, VALUES_RESULT_SERIALIZER: 'json' }),
    await startCeleriacWorker(urls, ['-Q', 'values-msgpack', '-n', 'msgpack@values', '-c', '2'], APP, { ...tokyo, VALUES_RESULT_SERIALIZER: 'msgpack' }),
    await startPythonWorker(urls, { queues: 'py-json', hostname: 'py-json@values', pool: 'solo' }),
    await startPythonWorker(urls, { queues: 'py-msgpack', hostname: 'py-msgpack@values', pool: 'solo', serializer: 'msgpack' }),
  );
}, 120_000);

afterAll(async () => {
  for (const p of procs.splice(0)) await p.stop();
  await redis?.stop();
});

async function peer<T>(which: string): Promise<T> {
  const { stdout } = await run('/usr/bin/python3', [PEER, urls.broker, urls.backend, which], { timeout: 90_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

describe('Python client → celeriac worker (TZ=Asia/Tokyo)', () => {
  it('json: 2**63-1, -2**63, 2**64-1 and 10**30 come back to Python exactly', async () => {
    expect(await peer('json-big')).toEqual({ exact: true, got: '[9223372036854775807, -9223372036854775808, 18446744073709551615, 1000000000000000000000000000000]' });
  });

  it('msgpack: 64-bit integers and bytes come back to Python exactly', async () => {
    expect(await peer('msgpack-big-bytes')).toMatchObject({ exact: true });
  });

  it('json refuses bytes in Python too (kombu 5.2 EncodeError): the behaviour celeriac copies', async () => {
    expect(await peer('json-bytes')).toEqual({ error: 'EncodeError' });
  });

  it('a naive eta (utcnow() + 3 s) runs no sooner than that instant, and a naive expires 2 min ahead has not expired', async () => {
    const out = await peer<{ state: string; sent_eta: string; seen_eta: string; late_by: number }>('naive-eta');
    expect(out.state).toBe('SUCCESS');
    expect(out.seen_eta).toBe(out.sent_eta);
    expect(out.sent_eta).not.toMatch(/[+-]\d\d:\d\d$|Z$/);
    expect(out.late_by).toBeGreaterThanOrEqual(-0.005);
  }, 90_000);
});

describe('celeriac client → Python worker', () => {
  let client: Celery;
  beforeAll(() => {
    client = new Celery('values-client', { broker: urls.broker, backend: urls.backend, result_accept_content: ['json', 'msgpack'] });
  });
  afterAll(() => client.close());

  it('json: bigint arguments reach Python as exact ints and come back as bigint', async () => {
    const r = await client.sendTask('interop.echo', BIG, {}, { queue: 'py-json' });
    expect(await r.get({ timeout: 30 })).toEqual({ args: BIG, kwargs: {} });
  });

  it('msgpack: bigint and bytes come back unchanged', async () => {
    // Stored results carry no content type: the client reads them with its result_serializer, as Celery does.
    const msgpackClient = new Celery('values-client', { broker: urls.broker, backend: urls.backend, result_serializer: 'msgpack', result_accept_content: ['json', 'msgpack'] });
    onTestFinished(() => msgpackClient.close());
    const sent = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, Buffer.from([0, 0xff, 0xfe]), 'text'];
    const r = await msgpackClient.sendTask('interop.echo', sent, {}, { queue: 'py-msgpack', serializer: 'msgpack' });
    const got = (await r.get({ timeout: 30 })) as { args: unknown[] };
    expect(got.args.slice(0, 3)).toEqual(sent.slice(0, 3));
    expect(Buffer.from(got.args[3] as Uint8Array)).toEqual(sent[3]);
    expect(got.args[4]).toBe('text');
  });

  it('json: bytes are an EncodeError at send, as in Python, never {"type":"Buffer"} or U+FFFD', async () => {
    await expect(client.sendTask('interop.echo', [Buffer.from([0xff])], {}, { queue: 'py-json' })).rejects.toThrow(EncodeError);
    await expect(client.sendTask('interop.echo', [new Uint8Array([0xff])], {}, { queue: 'py-json' })).rejects.toThrow(/Cannot send bytes as json/);
  });
});
