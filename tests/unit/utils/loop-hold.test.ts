// The event-loop hold behind "a finished client script exits": counts pending calls and open subscriptions.

import { describe, expect, it } from 'vitest';
import { holdingProxy, LoopHold } from '../../../src/utils/loop-hold.js';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('LoopHold', () => {
  it('is busy while a method call is pending, whether it resolves or rejects', async () => {
    const hold = new LoopHold();
    const calls = [deferred<number>(), deferred<number>()];
    const target = { n: 0, call(i: number) { this.n++; return calls[i]!.promise; }, sync: () => 'plain' };
    const proxy = holdingProxy(target, hold);
    expect(proxy.sync()).toBe('plain');
    expect(hold.busy).toBe(false);
    const first = proxy.call(0);
    const second = proxy.call(1);
    expect(target.n).toBe(2);
    expect(hold.busy).toBe(true);
    calls[0]!.resolve(1);
    await first;
    expect(hold.busy).toBe(true);
    calls[1]!.reject(new Error('down'));
    await expect(second).rejects.toThrow('down');
    expect(hold.busy).toBe(false);
  });

  it('holds from a subscription until it is cancelled', async () => {
    const hold = new LoopHold();
    let cancelled = 0;
    const proxy = holdingProxy({ subscribe: async () => ({ cancel: async () => void cancelled++ }) }, hold);
    const subscription = await proxy.subscribe();
    expect(hold.busy).toBe(true);
    await subscription.cancel();
    expect(cancelled).toBe(1);
    expect(hold.busy).toBe(false);
  });

  it('holds nothing after dispose', () => {
    const hold = new LoopHold();
    const release = hold.acquire();
    hold.dispose();
    expect(hold.busy).toBe(false);
    hold.acquire();
    release();
    expect(hold.busy).toBe(false);
  });
});
