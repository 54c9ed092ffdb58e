// Per-task-name token buckets for rate limits ('10/s', '10/m', '10/h'), per worker, changeable at run time.

import { ImproperlyConfigured } from '../errors.js';

/** Tokens per second for a Celery rate-limit string or number; null = no limit. */
export function parseRateLimit(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined || value === '' || value === 0 || value === '0') return null;
  if (typeof value === 'number') return value > 0 ? value : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(value);
  if (!m) throw new ImproperlyConfigured(`Bad rate limit '${value}'. Use a number per second or 'N/s', 'N/m', 'N/h' (e.g. '10/m').`);
  const n = Number(m[1]);
  const per = m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1;
  return n > 0 ? n / per : null;
}

/**
 * Celery's rate-limit bucket (kombu TokenBucket with capacity 1, as Celery's worker builds it): one token at once,
 * then one every 1/rate seconds, never more than one saved, so at '10/s' no two tasks start less than 0.1 s apart.
 * (kombu leaves its refill clock stale while the bucket is full, which lets a second task through at once after an
 * idle spell; this bucket does not, so the rate is never exceeded.)
 */
export class TokenBucket {
  private tokens = 1;
  private last: number;

  constructor(readonly perSecond: number, private readonly now: () => number = Date.now) {
    this.last = now();
  }

  /** Take the token if it is there. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the token is there (0 if it is). */
  msUntilToken(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(1, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
  }
}

/** Buckets by task name; a task with no limit has no bucket. */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Set (or with null, remove) a task's limit; returns the tokens-per-second now in force. */
  set(taskName: string, limit: string | number | null | undefined): number | null {
    const rate = parseRateLimit(limit);
    if (rate === null) this.buckets.delete(taskName);
    else this.buckets.set(taskName, new TokenBucket(rate, this.now));
    return rate;
  }

  /** 0 when the task may run now (a token was taken), else ms to wait before asking again. */
  acquire(taskName: string): number {
    const bucket = this.buckets.get(taskName);
    if (!bucket || bucket.tryTake()) return 0;
    return Math.max(1, bucket.msUntilToken());
  }

  limitOf(taskName: string): number | null {
    return this.buckets.get(taskName)?.perSecond ?? null;
  }
}
