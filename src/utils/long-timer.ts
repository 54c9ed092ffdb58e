// Timers for delays that come from a user or a message. Node's setTimeout fires at once (with a
// TimeoutOverflowWarning) past 2^31−1 ms (~24.8 days); these re-arm in steps until the real deadline.

/** The longest delay one Node timer can hold, in ms (2^31−1); longer ones are re-armed in steps this size. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A scheduled call that may be days or years away. */
export interface LongTimer {
  /** Monotonic deadline (performance.now() scale, ms); Infinity for a timer that never fires. */
  readonly deadline: number;
  /** Whether it is still waiting (not fired, not cancelled). */
  readonly pending: boolean;
  /** Do not fire. Safe to call more than once, and after firing. */
  cancel(): void;
  /** Let the process exit while this is the only thing waiting (Node's timer.unref()). Returns itself. */
  unref(): this;
  /** Undo unref(). Returns itself. */
  ref(): this;
}

/**
 * Call `fn` once after `delayMs` milliseconds, however long that is (Node's setTimeout, without its 24.8-day
 * limit). Negative and zero delays fire on the next turn, as setTimeout's do; `Infinity` never fires.
 * Throws RangeError for NaN: a delay computed from bad input must be caught where it was read.
 */
export function setLongTimeout(fn: () => void, delayMs: number): LongTimer {
  if (Number.isNaN(delayMs)) throw new RangeError('Timer delay is NaN: check the value it was computed from.');
  return new Timer(fn, Math.max(0, delayMs));
}

/**
 * A promise resolved after `delayMs` (any length), or early and without error when `signal` aborts.
 * `unref` lets the process exit while only this sleep waits.
 */
export function sleepLong(delayMs: number, options: { signal?: AbortSignal; unref?: boolean } = {}): Promise<void> {
  const { signal } = options;
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setLongTimeout(done, delayMs);
    if (options.unref) timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}

class Timer implements LongTimer {
  readonly deadline: number;
  private handle: NodeJS.Timeout | undefined;
  private refed = true;
  private state: 'pending' | 'done' = 'pending';

  constructor(private readonly fn: () => void, delayMs: number) {
    // Monotonic, so a wall-clock jump neither fires the timer early nor holds it back.
    this.deadline = performance.now() + delayMs;
    if (delayMs !== Infinity) this.arm(delayMs);
  }

  get pending(): boolean {
    return this.state === 'pending';
  }

  cancel(): void {
    this.state = 'done';
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }

  unref(): this {
    this.refed = false;
    this.handle?.unref();
    return this;
  }

  ref(): this {
    this.refed = true;
    this.handle?.ref();
    return this;
  }

  private arm(leftMs: number): void {
    this.handle = setTimeout(() => this.tick(), Math.min(leftMs, MAX_TIMER_MS));
    if (!this.refed) this.handle.unref();
  }

  private tick(): void {
    this.handle = undefined;
    if (this.state !== 'pending') return;
    const left = this.deadline - performance.now();
    // Node may fire a step up to ~1 ms early; only a left-over beyond that is worth another step.
    if (left > 1) return this.arm(left);
    this.state = 'done';
    this.fn();
  }
}
