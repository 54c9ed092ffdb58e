// broker_connection_max_retries at run time (issue 18), as Celery applies it when its consumer reconnects: after a
// loss, N failed reconnect attempts stop the worker with a clear error (exit code 1 from the CLI); null retries
// forever, and the worker consumes again once the broker is back. On a private redis-server that is SIGKILLed.

import { afterEach, describe, expect, it } from 'vitest';
import { Celery, Worker } from '../../src/index.js';
import { OperationalError } from '../../src/errors.js';
import { startRedis, type RedisServer } from '../support/servers.js';

// A command fails after one reconnect attempt, so each consumer attempt is quick.
const FAST_FAIL = { broker_transport_options: { max_retries_per_request: 1 } };
let server: RedisServer | undefined;
let app: Celery | undefined;

afterEach(async () => {
  await app?.close();
  await server?.stop();
});

describe('broker_connection_max_retries after a connection loss', () => {
  it('the worker stops after max_retries failed reconnect attempts, saying why', async () => {
    server = await startRedis();
    app = new Celery('reconnect-limit', { broker: server.url, broker_connection_max_retries: 2, ...FAST_FAIL });
    const worker = new Worker(app, { banner: false, concurrency: 1, loglevel: 'CRITICAL' });
    await worker.start();
    await server.halt('SIGKILL');
    await worker.done;
    expect(worker.failure).toBeInstanceOf(OperationalError);
    expect(worker.failure!.message).toMatch(/^The connection to the broker at redis:\/\/127\.0\.0\.1:\d+\/0 was lost and not re-established after 3 reconnect attempt\(s\) \(broker_connection_max_retries = 2\): .+ The worker stops/);
  }, 60_000);

  it('null retries forever: the worker consumes again when the broker comes back', async () => {
    server = await startRedis();
    app = new Celery('reconnect-forever', { broker: server.url, broker_connection_max_retries: null, ...FAST_FAIL });
    app.task((x: number) => x * 2, { name: 'reconnect.double' });
    const worker = new Worker(app, { banner: false, concurrency: 1, loglevel: 'CRITICAL' });
    const disconnects: unknown[] = [];
    await worker.start();
    const transport = await app.getTransport();
    transport.on('disconnected', (e) => disconnects.push(e));
    await server.halt('SIGKILL');
    // Well past what a small limit would allow.
    while (disconnects.length < 5) await new Promise((r) => setTimeout(r, 50));
    await server.start();
    const ran = new Promise<void>((resolve) => app!.signals.connect('task_success', () => resolve()));
    await app.sendTask('reconnect.double', [21]);
    await ran;
    expect(worker.failure).toBeUndefined();
    await worker.stop('warm');
  }, 120_000);
});
