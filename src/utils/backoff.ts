// Exponential backoff with a cap, used by reconnect loops (sleep with utils/long-timer's sleepLong).

/** Delay for attempt n (0-based): base·2ⁿ capped at max, in ms. */
export function backoffMs(attempt: number, baseMs = 100, maxMs = 5_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 16));
}
