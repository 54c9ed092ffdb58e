// get()'s timeout and interval: Celery's seconds, checked, with a one-time warning for values that look like the
// milliseconds earlier celeriac builds took (a silent 1000× would wait 83 minutes for `timeout: 5000`).

import { ImproperlyConfigured } from '../errors.js';

// Values in these ranges were probably written in milliseconds (1 s to 10 min in the unit of earlier celeriac
// builds); in seconds they are 16 min to 7 days (timeout) or 1 min to 7 days (interval), rare for get().
const LIKELY_MS = { timeout: [1000, 600_000], interval: [60, 600_000] } as const;

let warned = false;

/**
 * Milliseconds for a seconds option of get() (`timeout`, `interval`); undefined when not given or Infinity.
 * Throws ImproperlyConfigured for NaN, a negative number or a non-number, naming the option and the value.
 */
export function secondsOption(value: unknown, name: 'timeout' | 'interval'): number | undefined {
  if (value === undefined || value === null || value === Infinity) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new ImproperlyConfigured(`get({ ${name}: ${String(value)} }) is not a number of seconds. Pass seconds ≥ 0 as Celery does, e.g. ${name}: 10 or ${name}: 0.5.`);
  }
  if (!warned && value >= LIKELY_MS[name][0] && value <= LIKELY_MS[name][1]) {
    warned = true;
    process.emitWarning(
      `get({ ${name}: ${value} }) waits ${value} seconds: get() takes seconds, as Celery does (earlier celeriac builds took milliseconds). ` +
        `If you meant ${value} ms, write ${name}: ${value / 1000}. This warning is shown once.`,
      { type: 'DeprecationWarning', code: 'CELERIAC_GET_SECONDS' },
    );
  }
  return value * 1000;
}
