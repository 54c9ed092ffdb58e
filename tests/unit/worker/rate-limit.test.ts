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

  it('a bucket gives its capacity at once, then one token per 1/rate seconds (fake clock)', () => {
    let now = 0;
    const bucket = new TokenBucket(2, () => now);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.msUntilToken()).toBe(500);
    now = 499;
    expect(bucket.tryTake()).toBe(false);
    now = 500;
    expect(bucket.tryTake()).toBe(true);
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
