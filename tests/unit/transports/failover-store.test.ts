// FailoverQueueStore: one store per failover URL, moving to the next on a connection error (issue 18).

import { describe, expect, it } from 'vitest';
import { FailoverQueueStore } from '../../../src/transports/virtual/failover.js';
import { createMemoryStore } from '../../../src/transports/memory/index.js';
import type { QueueStore } from '../../../src/transports/virtual/queue-store.js';
import { OperationalError } from '../../../src/errors.js';
import { failoverOrder } from '../../../src/config/failover-strategy.js';

/** A memory store that fails every call with a connection error while `down`. */
function switchable(name: string): { store: QueueStore; setDown(down: boolean): void } {
  const inner = createMemoryStore(name);
  let down = false;
  const guard = <T>(fn: () => Promise<T>): Promise<T> => (down ? Promise.reject(new OperationalError(`${name} is down`)) : fn());
  const store: QueueStore = {
    put: (q, raw, p) => guard(() => inner.put(q, raw, p)),
    take: (qs, o) => guard(() => inner.take(qs, o)),
    ack: (t, h) => guard(() => inner.ack(t, h)),
    requeue: (t, h) => guard(() => inner.requeue(t, h)),
    restoreExpired: (ms) => guard(() => inner.restoreExpired(ms)),
    size: (q) => guard(() => inner.size(q)),
    purge: (q) => guard(() => inner.purge(q)),
    bindings: {
      add: (b) => guard(() => inner.bindings.add(b)),
      remove: (b) => guard(() => inner.bindings.remove(b)),
      list: (e) => guard(() => inner.bindings.list(e)),
    },
    broadcast: {
      publish: (c, raw) => guard(() => inner.broadcast!.publish(c, raw)),
      listen: (c, fn) => guard(() => inner.broadcast!.listen(c, fn)),
    },
    close: () => inner.close(),
  };
  return { store, setDown: (d) => (down = d) };
}

function setup() {
  const tag = Math.random().toString(36).slice(2);
  const a = switchable(`fa-${tag}`);
  const b = switchable(`fb-${tag}`);
  const switches: number[] = [];
  const store = new FailoverQueueStore({
    stores: [a.store, b.store],
    next: failoverOrder('round-robin', ['x://a', 'x://b']),
    isRecoverable: (e) => e instanceof OperationalError,
    onSwitch: (_from, to) => switches.push(to),
  });
  return { a, b, store, switches };
}

const take = (store: QueueStore) => store.take(['q'], { timeoutMs: 0, signal: new AbortController().signal, max: 10 });

describe('FailoverQueueStore', () => {
  it('serves from the first store, moves to the next when it fails, and the failed call succeeds there', async () => {
    const { a, store, switches } = setup();
    await store.put('q', 'one', 0);
    a.setDown(true);
    await store.put('q', 'two', 0);
    expect(store.active).toBe(1);
    expect(switches).toEqual([1]);
    expect((await take(store)).map((t) => t.raw)).toEqual(['two']);
    a.setDown(false);
    expect(await a.store.size('q')).toBe(1);
  });

  it('replays declared bindings on the next store before it serves, so routing keeps working', async () => {
    const { a, b, store } = setup();
    await store.bindings.add({ exchange: 'ex', routingKey: 'rk', pattern: '', queue: 'q' });
    a.setDown(true);
    expect(await store.bindings.list('ex')).toHaveLength(1);
    expect(await b.store.bindings.list('ex')).toHaveLength(1);
  });

  it('settles go to the store the message came from, not the active one', async () => {
    const { a, b, store } = setup();
    await store.put('q', 'one', 0);
    const [taken] = await take(store);
    await b.store.put('q', 'other', 0);
    a.setDown(true);
    await store.size('q');
    expect(store.active).toBe(1);
    await expect(store.ack(taken!.tag)).rejects.toThrow(/fa-.* is down/);
    a.setDown(false);
    await store.ack(taken!.tag);
    expect(await b.store.size('q')).toBe(1);
  });

  it('fails with the last connection error when every store is down, and each store is tried once', async () => {
    const { a, b, store, switches } = setup();
    a.setDown(true);
    b.setDown(true);
    await expect(store.put('q', 'x', 0)).rejects.toThrow(/fb-.* is down/);
    expect(switches).toEqual([1, 0]);
  });

  it('concurrent failures on one store switch once, not back and forth', async () => {
    const { a, store, switches } = setup();
    a.setDown(true);
    await Promise.all([store.put('q', '1', 0), store.put('q', '2', 0), store.size('q')]);
    expect(switches).toEqual([1]);
  });

  it('broadcast listeners follow the active store', async () => {
    const { a, store } = setup();
    const heard: string[] = [];
    await store.broadcast!.listen('ch', (raw) => heard.push(raw));
    a.setDown(true);
    await store.broadcast!.publish('ch', 'hello');
    await new Promise((r) => setImmediate(r));
    await store.broadcast!.publish('ch', 'again');
    await new Promise((r) => setImmediate(r));
    expect(heard).toContain('again');
  });
});
