// Monitor: events reach the state and its listeners; a broker that cannot be reached at start is tried again in
// the background until it can (Flower's retry loop).

import { describe, expect, it } from 'vitest';
import type { Control } from '../../../src/control/client.js';
import { Monitor, type MonitorApp } from '../../../src/dashboard/monitor.js';
import type { Transport } from '../../../src/transports/transport.js';

/** A transport that hands every delivery of the subscribed queue to the test. */
function fakeApp(failures: number) {
  let attempts = 0;
  let deliver: ((body: string) => void) | undefined;
  const broadcasts: string[] = [];
  const transport = {
    declare: async () => undefined,
    subscribe: async (_queues: string[], onDelivery: (d: unknown) => void) => {
      deliver = (body) => onDelivery({ message: { body: Buffer.from(body) }, ack: async () => undefined });
      return { cancel: async () => undefined, setPrefetch: async () => undefined };
    },
  } as unknown as Transport;
  const app: MonitorApp = {
    conf: { get: () => undefined },
    control: { broadcast: async (method: string) => (broadcasts.push(method), {}) } as unknown as Control,
    getTransport: async () => {
      attempts += 1;
      if (attempts <= failures) throw new Error(`broker down (attempt ${attempts})`);
      return transport;
    },
  };
  return { app, broadcasts, attempts: () => attempts, deliver: (body: string) => deliver?.(body) };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
}

describe('Monitor', () => {
  it('applies events to the state and calls listeners; asks for heartbeats and enables events at start', async () => {
    const fake = fakeApp(0);
    const monitor = new Monitor(fake.app);
    const seen: string[] = [];
    monitor.listen((e) => seen.push(e.type));
    await monitor.start();
    fake.deliver(JSON.stringify({ type: 'worker-online', hostname: 'w1', timestamp: 1, clock: 1, pid: 1, utcoffset: 0, freq: 2 }));
    fake.deliver(JSON.stringify([{ type: 'task-received', hostname: 'w1', uuid: 'a', name: 't', timestamp: 2, clock: 2, pid: 1, utcoffset: 0 }]));
    expect(seen).toEqual(['worker-online', 'task-received']);
    expect(monitor.state.tasks.get('a')?.state).toBe('RECEIVED');
    expect(fake.broadcasts).toEqual(['heartbeat', 'enable_events']);
    await monitor.stop();
  });

  it('keeps trying to reach the broker after a failed start, once it succeeds', async () => {
    const fake = fakeApp(1);
    const errors: unknown[] = [];
    const monitor = new Monitor(fake.app, { enableEvents: false }, (e) => errors.push(e));
    await expect(monitor.start()).rejects.toThrow('broker down (attempt 1)');
    await until(() => fake.broadcasts.includes('heartbeat'));
    expect(fake.attempts()).toBe(2);
    expect(errors).toEqual([]);
    await monitor.stop();
  });
});
