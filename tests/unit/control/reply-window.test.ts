import { describe, expect, it } from 'vitest';
import { replyWindowMs } from '../../../src/control/mailbox.js';
import { ImproperlyConfigured } from '../../../src/errors.js';

// Celery's app.control.ping(timeout=0.5) / inspect(timeout=1.0) take seconds; celeriac's `timeout` does too.
describe('remote-control reply window', () => {
  it('reads timeout in seconds as Celery does, timeoutMs in ms, default 1 s', () => {
    expect(replyWindowMs({ timeout: 0.5 })).toBe(500);
    expect(replyWindowMs({ timeout: 30 * 86_400 })).toBe(30 * 86_400_000);
    expect(replyWindowMs({ timeoutMs: 250 })).toBe(250);
    expect(replyWindowMs({})).toBe(1000);
  });

  it('refuses both at once and values that are not a number ≥ 0, saying to give seconds', () => {
    expect(() => replyWindowMs({ timeout: 1, timeoutMs: 1000 })).toThrow(ImproperlyConfigured);
    for (const bad of [-1, Number.NaN, Infinity, '1' as unknown as number]) {
      expect(() => replyWindowMs({ timeout: bad })).toThrow(/timeout in seconds/);
    }
  });
});
