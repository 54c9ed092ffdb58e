import { describe, expect, it } from 'vitest';
import { RunAbort } from '../../../src/utils/run-abort.js';

describe('RunAbort', () => {
  it('keeps the flag and reason without a signal; a signal read afterwards is already aborted with that reason', () => {
    const abort = new RunAbort();
    expect(abort.aborted).toBe(false);
    const reason = new Error('soft limit');
    abort.abort(reason);
    abort.abort(new Error('later'));
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe(reason);
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe(reason);
  });

  it('fires the listeners of a signal read before the abort, once, and hands out the same signal every time', () => {
    const abort = new RunAbort();
    const signal = abort.signal;
    expect(abort.signal).toBe(signal);
    const seen: unknown[] = [];
    signal.addEventListener('abort', () => seen.push(signal.reason));
    abort.abort('terminated');
    abort.abort('again');
    expect(seen).toEqual(['terminated']);
  });
});
