import { describe, expect, it } from 'vitest';
import { parseRateLimit, RateLimiter, TokenBucket } from '../../../src/worker/rate-limit.js';

describe('rate limits', () => {
  it('parses Celery rate strings', () => {
    expect(parseRateLimit('10/s')).toBe(10);
    expect(parseRateLimit('10/m')).toBeCloseTo(10 / 60);
    expect(parseRateLimit('36/h')).toBeCloseTo(0.01);
    expect(parseRateLimit('5')).toBe(5);
    expect(parseRateLimit(2.5)).toBe(2.5);
    expect(parseRateLimit(null)).toBeNull();
    expect(parseRateLimit('0')).toBeNull();
    expect(() => parseRateLimit('ten per minute')).toThrow(/Bad rate limit/);
  });

  it('a bucket holds one token, as Celery\'s (capacity 1): at 10/s the second task waits 100 ms (fake clock)', () => {
    let now = 0;
    const bucket = new TokenBucket(10, () => now);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.msUntilToken()).toBe(100);
    now = 99;
    expect(bucket.tryTake()).toBe(false);
    now = 100;
    expect(bucket.tryTake()).toBe(true);
    now = 60_000; // a long idle spell saves one token, not 600
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
  });

  it('at 10/s, 20 tasks asked for at once start one per 100 ms: never more than the rate', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    limiter.set('tasks.add', '10/s');
    const starts: number[] = [];
    while (starts.length < 20) {
      const wait = limiter.acquire('tasks.add');
      if (wait === 0) starts.push(now);
      else now += wait;
    }
    expect(starts.filter((t) => t < 1000)).toHaveLength(10);
    expect(starts.every((t, i) => i === 0 || t - starts[i - 1]! >= 100)).toBe(true);
  });

  it('the limiter applies per task name and can be changed at run time', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    limiter.set('tasks.add', '1/m');
    expect(limiter.acquire('tasks.add')).toBe(0);
    expect(limiter.acquire('tasks.add')).toBe(60_000);
    expect(limiter.acquire('tasks.mul')).toBe(0);
    limiter.set('tasks.add', null);
    expect(limiter.acquire('tasks.add')).toBe(0);
    expect(limiter.limitOf('tasks.add')).toBeNull();
  });
});
