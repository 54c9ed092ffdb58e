// What every periodic schedule answers (Celery's BaseSchedule: is_due and remaining_estimate), and the interval
// schedule (Celery's `schedule(run_every)`). Pure arithmetic on a clock the scheduler binds; no timers here.

import { SchedulingError } from '../errors.js';
import { fieldsOf, instantOf, wallAt, type WallTime } from './wall-time.js';

/** Celery's schedstate: whether the entry is due now, and in how many seconds to check it next. */
export interface ScheduleState {
  readonly isDue: boolean;
  /** Seconds until the next check (or, when due now, until the run after this one). */
  readonly next: number;
}

/** The clock a schedule reads: the app's time zone (Celery's app.timezone) and "now" in epoch ms. */
export interface ScheduleClock {
  /** IANA zone name crontab fields are read in, e.g. 'Europe/Oslo'; 'UTC' by Celery's default. */
  readonly timezone: string;
  now(): number;
}

const UTC_CLOCK: ScheduleClock = { timezone: 'UTC', now: () => Date.now() };

/**
 * The base of every schedule (Celery's BaseSchedule). The scheduler binds it to the app's clock (`schedule.clock
 * = …`, as Celery sets `schedule.app`); unbound, it reads UTC and the system time.
 */
export abstract class BaseSchedule {
  /** The clock this schedule reads; the scheduler sets it from the app's `timezone`/`enable_utc`. */
  clock: ScheduleClock = UTC_CLOCK;
  /**
   * What was wrong with the arguments, kept rather than thrown at construction so that beat can report it with the
   * name of the entry that uses the schedule. Every use of the schedule throws it.
   */
  protected problem?: SchedulingError;

  /** Throws the SchedulingError describing a bad argument (a crontab field, an interval of 0), if any. */
  validate(): void {
    if (this.problem) throw this.problem;
  }

  /** Run `build`, keeping a SchedulingError it throws as this schedule's problem; `fallback` stands in meanwhile. */
  protected checked<T>(build: () => T, fallback: T): T {
    try {
      return build();
    } catch (error) {
      if (!(error instanceof SchedulingError)) throw error;
      this.problem ??= error;
      return fallback;
    }
  }

  /** Now, as an instant in epoch ms. */
  now(): number {
    return this.clock.now();
  }

  /** Seconds from now until the run after `lastRunAt`; negative or zero when that run is due. */
  abstract remainingEstimate(lastRunAt: Date): number;

  /** Whether the entry last run at `lastRunAt` is due now, and when to check again (Celery's is_due). */
  abstract isDue(lastRunAt: Date): ScheduleState;

  /** A plain description of this schedule (for logs, and to tell whether an entry's schedule changed). */
  abstract describe(): string;

  /** `lastRunAt` read in the clock's zone. */
  protected local(epochMs: number): WallTime {
    return wallAt(epochMs, this.clock.timezone);
  }
}

/** A length of time given as fields (Python's timedelta keywords); all optional, summed. */
export interface Duration {
  weeks?: number;
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  milliseconds?: number;
}

/** Seconds in a number of seconds or a Duration; throws SchedulingError unless finite and > 0. */
export function durationSeconds(value: number | Duration): number {
  const seconds = typeof value === 'number'
    ? value
    : typeof value === 'object' && value !== null
      ? (value.weeks ?? 0) * 604_800 + (value.days ?? 0) * 86_400 + (value.hours ?? 0) * 3_600 +
        (value.minutes ?? 0) * 60 + (value.seconds ?? 0) + (value.milliseconds ?? 0) / 1000
      : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new SchedulingError(`the interval must be a number of seconds greater than 0, or a duration such as { minutes: 5 } (got ${JSON.stringify(value)}).`);
  }
  return seconds;
}

/**
 * Every `runEvery` seconds after the last run (Celery's `schedule(run_every, relative)`). With `relative`, the next
 * run is rounded down to the interval's resolution (days, hours or minutes) as Celery does.
 *
 * One deliberate difference from Celery 5.2: the interval is measured in elapsed time across a DST change. Celery
 * re-reads the last run with the new UTC offset there, so after the autumn change an interval task waits an extra
 * hour, and after the spring change one run comes early.
 */
export class IntervalSchedule extends BaseSchedule {
  /** The interval in seconds. */
  readonly seconds: number;
  readonly relative: boolean;

  constructor(runEvery: number | Duration, options: { relative?: boolean } = {}) {
    super();
    this.seconds = this.checked(() => durationSeconds(runEvery), 1);
    this.relative = options.relative ?? false;
  }

  remainingEstimate(lastRunAt: Date): number {
    this.validate();
    const start = lastRunAt.getTime();
    const end = this.relative ? this.roundDown(start) : start + this.seconds * 1000;
    return (end - this.now()) / 1000;
  }

  isDue(lastRunAt: Date): ScheduleState {
    const remaining = Math.max(this.remainingEstimate(lastRunAt), 0);
    return remaining === 0 ? { isDue: true, next: this.seconds } : { isDue: false, next: remaining };
  }

  describe(): string {
    return `<freq: ${this.seconds}s${this.relative ? ', relative' : ''}>`;
  }

  /**
   * Celery's delta_resolution: the end of the interval from `start`, on the wall clock with start's offset, cut to
   * the day, hour or minute when the interval is that long.
   */
  private roundDown(start: number): number {
    const from = this.local(start);
    const wall = { wall: from.wall + this.seconds * 1000, offset: from.offset };
    const f = fieldsOf(wall);
    const cut =
      this.seconds >= 86_400 ? Date.UTC(f.year, f.month - 1, f.day)
      : this.seconds >= 3_600 ? Date.UTC(f.year, f.month - 1, f.day, f.hour)
      : this.seconds >= 60 ? Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute)
      : Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
    return instantOf({ wall: cut, offset: wall.offset });
  }
}

/** An interval schedule (Celery's `schedule(run_every=…, relative=…)`): seconds, or a Duration. */
export function schedule(runEvery: number | Duration, options: { relative?: boolean } = {}): IntervalSchedule {
  return new IntervalSchedule(runEvery, options);
}
