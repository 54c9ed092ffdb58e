// Blocked event loop detection for the in-process pools: a task that computes without yielding holds the worker's
// only event loop, so remote control, heartbeats, acks and time limits wait until it returns. Two views: the task
// function's synchronous run, measured around the call (exact, for plain functions), and a ticking timer that sees
// late ticks (for work after an await), naming the tasks that were running.

import type { Logger } from '../utils/logger.js';

/** A task function that held the loop this long in one synchronous run is reported (ms). */
export const HELD_LOOP_WARNING_MS = 1_000;

const TICK_MS = 250;

/** The advice every blocked-loop line ends with. */
export const HELD_LOOP_ADVICE = 'Remote control, heartbeats, acks and time limits waited meanwhile. Run CPU-bound tasks on -P threads or -P prefork.';

/**
 * Watches the worker's event loop: when a tick arrives `HELD_LOOP_WARNING_MS` or more late, logs a warning with how
 * long the loop was blocked and the tasks that ran during it (from `running(sinceMs)`, e.g. `add[<id>]`). The timer never holds the
 * process open. Mirrors nothing in Celery (a Python prefork worker's main process does no task work).
 */
export class LoopWatch {
  private timer?: NodeJS.Timeout;
  private expected = 0;
  private namedAt = -Infinity;

  constructor(
    private readonly logger: Logger,
    private readonly running: (sinceMs: number) => string[],
  ) {}

  start(): void {
    this.expected = performance.now() + TICK_MS;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A pool named the task that held the loop (exact): the late tick this causes is not reported again. */
  named(): void {
    this.namedAt = performance.now();
  }

  private tick(): void {
    const now = performance.now();
    const late = now - this.expected;
    this.expected = now + TICK_MS;
    if (late < HELD_LOOP_WARNING_MS || this.namedAt >= now - late - TICK_MS) return;
    const tasks = this.running(Date.now() - late - TICK_MS);
    const which = tasks.length ? `while ${tasks.slice(0, 5).join(', ')}${tasks.length > 5 ? ` and ${tasks.length - 5} more` : ''} ran` : 'with no task running';
    this.logger.warn(`The event loop was blocked for ${(late / 1000).toFixed(1)} s ${which}. ${HELD_LOOP_ADVICE}`);
  }
}
