// The first-connection bound of a Redis client: gives up only before any connection was ready, only after the
// timeout, rewrites the driver's closing error with the attempts and last cause, and never restarts a closed client.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { FirstConnect } from '../../../src/drivers/redis-first-connect.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('FirstConnect', () => {
  it('retries with a growing delay until the timeout, then gives up and explains the closing error', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const first = new FirstConnect(1_500);
    first.attempt();
    first.failed(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7'), { code: 'ECONNREFUSED' }));
    expect(first.retryDelay(1)).toBe(50);
    first.attempt();
    vi.advanceTimersByTime(1_399);
    expect(first.retryDelay(2)).toBe(100);
    // 1,400 ms gone and a 150 ms wait next: that attempt would start past the bound.
    vi.advanceTimersByTime(1);
    expect(first.retryDelay(3)).toBeNull();
    expect(first.mayRestart).toBe(true);
    const closing = new Error('Connection is closed.');
    first.explain(closing);
    expect(closing.message).toBe('no connection could be made within 1.5 s (2 attempts; last: connect ECONNREFUSED 127.0.0.1:7)');
    expect((closing as Error & { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('never gives up once a connection was ready, and leaves other errors alone', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const first = new FirstConnect(100);
    first.attempt();
    first.ready();
    vi.advanceTimersByTime(10_000);
    expect(first.retryDelay(100)).toBe(2_000);
    const other = new Error('Connection is closed.');
    first.explain(other);
    expect(other.message).toBe('Connection is closed.');
  });

  it('a restart opens a new window; a closed client never restarts', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const first = new FirstConnect(100);
    first.attempt();
    vi.advanceTimersByTime(60);
    expect(first.retryDelay(1)).toBeNull();
    first.restart();
    expect(first.mayRestart).toBe(false);
    first.attempt();
    expect(first.retryDelay(1)).toBe(50);
    vi.advanceTimersByTime(60);
    expect(first.retryDelay(2)).toBeNull();
    first.close();
    expect(first.mayRestart).toBe(false);
  });
});
