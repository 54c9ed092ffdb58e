// The rpc:// result backend against the shared contract, on RabbitMQ and on Redis brokers, where its semantics allow:
// results are messages to the sender's reply queue, not stored documents. The writer sends to the reply queue the
// reader consumes, as a worker sends to the queue named by the task's reply_to.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import type { ResultBackend } from '../../src/backends/backend.js';
import { openBackend } from '../../src/backends/index.js';
import { openTransport } from '../../src/transports/index.js';
import type { Transport } from '../../src/transports/transport.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import { describeBackendConformance } from './backend.suite.js';

/** Why each case does not apply to rpc:// (Celery's RPC backend has the same limits). */
const RPC_SKIPS: Readonly<Record<string, string>> = {
  'stores and reads back a SUCCESS document with nested, unicode data': 'a state read right after the write can precede the message, and rpc results carry no date_done (AMQP-WIRE.md §5)',
  'stores a FAILURE with its exception document and traceback': 'a state read right after the write can precede the message (covered through waitFor in rpc-backend.test.ts)',
  'moves through STARTED to SUCCESS and never overwrites a stored SUCCESS': 'a state read right after the write can precede the message (a late STARTED after SUCCESS is covered in rpc-backend.test.ts)',
  'forget removes a result': 'a sent message cannot be recalled; forget drops only what this process holds',
  'saves, reads and forgets a group, nested member groups included (Celery\'s result tuples)': 'rpc stores nothing: GroupResult.save/restore raise, as in Celery',
  'completes a chord exactly once, with the parts ordered by index': 'chords are refused before anything is sent, as in Celery',
  'completes a chord once when its parts arrive concurrently': 'chords are refused before anything is sent, as in Celery',
};

const transports: Transport[] = [];
let redis: RedisServer | undefined;
afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  await redis?.stop();
});

function rpcOn(name: string, brokerUrl: () => string): void {
  const replyQueue = randomUUID();
  let transport: Promise<Transport> | undefined;
  const broker = () => (transport ??= openTransport({ url: brokerUrl(), transportOptions: {} }).then(async (t) => {
    await t.connect();
    transports.push(t);
    return t;
  }));
  describeBackendConformance(`rpc on ${name}`, {
    open: async (): Promise<ResultBackend> => openBackend({ url: 'rpc://', serializer: 'json', options: {}, extended: false, expiresMs: 86_400_000, broker, replyQueue }),
    destination: { replyTo: replyQueue },
    skip: RPC_SKIPS,
  });
}

beforeAll(async () => {
  redis = await startRedis();
});

rpcOn('RabbitMQ', () => inject('amqpUrl'));
rpcOn('Redis', () => redis!.url);
