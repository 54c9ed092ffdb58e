import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, setLongTimeout, sleepLong } from '../../../src/utils/long-timer.js';

const DAY = 86_400_000;

describe('setLongTimeout under a fake clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([25, 30, 365])('fires a %i-day timer at its deadline, not before', (days) => {
    const fn = vi.fn();
    const timer = setLongTimeout(fn, days * DAY);
    vi.advanceTimersByTime(MAX_TIMER_MS + 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(days * DAY - MAX_TIMER_MS - 2);
    expect(fn).not.toHaveBeenCalled();
    expect(timer.pending).toBe(true);
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(timer.pending).toBe(false);
    vi.advanceTimersByTime(days * DAY);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('is cancellable before and between steps', () => {
    const fn = vi.fn();
    setLongTimeout(fn, 30 * DAY).cancel();
    const t = setLongTimeout(fn, 30 * DAY);
    vi.advanceTimersByTime(MAX_TIMER_MS + 10);
    t.cancel();
    t.cancel();
    vi.advanceTimersByTime(60 * DAY);
    expect(fn).not.toHaveBeenCalled();
    expect(t.pending).toBe(false);
  });

  it('fires negative and zero delays on the next turn; never fires Infinity; refuses NaN', () => {
    const fn = vi.fn();
    setLongTimeout(fn, -5);
    setLongTimeout(fn, 0);
    const never = setLongTimeout(fn, Infinity);
    vi.advanceTimersByTime(0);
    expect(fn).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1000 * DAY);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(never.pending).toBe(true);
    expect(() => setLongTimeout(fn, Number.NaN)).toThrow(RangeError);
  });

  it('does not move with the wall clock (monotonic deadline)', () => {
    const fn = vi.fn();
    setLongTimeout(fn, 10_000);
    vi.setSystemTime(Date.now() + 30 * DAY);
    vi.advanceTimersByTime(9_999);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('sleepLong resolves after the delay or early on abort', async () => {
    const done = vi.fn();
    void sleepLong(40 * DAY).then(done);
    await vi.advanceTimersByTimeAsync(39 * DAY);
    expect(done).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(DAY);
    expect(done).toHaveBeenCalled();
    const abort = new AbortController();
    const early = sleepLong(40 * DAY, { signal: abort.signal });
    abort.abort();
    await expect(early).resolves.toBeUndefined();
  });
});

describe('setLongTimeout on the real clock', () => {
  it('fires a short timer', async () => {
    const fired = await new Promise<number>((resolve) => {
      const start = performance.now();
      setLongTimeout(() => resolve(performance.now() - start), 5);
    });
    expect(fired).toBeGreaterThanOrEqual(4);
  });

  it('an unref()ed 30-day timer lets the process exit; a ref()ed one keeps it alive past a shorter timer', () => {
    const run = (code: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
    const src = new URL('../../../src/utils/long-timer.ts', import.meta.url).href;
    const exited = run(`import { setLongTimeout } from '${src}'; setLongTimeout(() => console.log('fired'), ${30 * DAY}).unref(); setTimeout(() => console.log('short'), 20);`);
    expect(exited.status).toBe(0);
    expect(exited.stdout.trim()).toBe('short');
    // ref() after unref(): the timer holds the process until it fires (here after 300 ms, not at once).
    const held = run(`import { setLongTimeout } from '${src}'; const s = Date.now(); setLongTimeout(() => console.log('fired', Date.now() - s >= 290), 300).unref().ref();`);
    expect(held.stdout.trim()).toBe('fired true');
  });
});
