// crontab schedules with Celery's arithmetic: the next run is found from the last run's wall-clock fields in the
// app's zone (Celery's crontab.remaining_delta and _delta_to_next), so results match Python's celery.schedules,
// DST changes included. Day of month, month and day of week must all match (Celery ANDs them; cron ORs them).
// Pure: the clock comes from BaseSchedule.

import { SchedulingError } from '../errors.js';
import { CrontabFieldError, expandField, FIELDS, isStar, type CronField } from './crontab-parser.js';
import { BaseSchedule, type ScheduleState } from './schedule.js';
import { daysInMonth, dowOf, fieldsOf, forward, remainingSeconds, type Forward, type WallTime } from './wall-time.js';

/** The five fields of a crontab; each defaults to `'*'` (Celery's keyword arguments). */
export interface CrontabSpec {
  minute?: CronField;
  hour?: CronField;
  /** 0 or 7 = Sunday … 6 = Saturday, or names: `'mon-fri'`, `'sat,sun'`. */
  day_of_week?: CronField;
  day_of_month?: CronField;
  month_of_year?: CronField;
}

/** Celery gives up looking for a matching date after this many steps; so do we (e.g. 31 February). */
const ROLL_LIMIT = 2000;

/** A schedule on wall-clock fields (Celery's crontab). Construct with `crontab({...})`. */
export class Crontab extends BaseSchedule {
  readonly minute: readonly number[];
  readonly hour: readonly number[];
  readonly dayOfWeek: readonly number[];
  readonly dayOfMonth: readonly number[];
  readonly monthOfYear: readonly number[];
  /** The fields as given, for describe() and for Celery's shortcut when day_of_month and month_of_year are `*`. */
  readonly spec: Readonly<CrontabSpec>;

  /** A bad field is reported by validate() and by every use, naming the field and what is wrong with it. */
  constructor(spec: CrontabSpec = {}) {
    super();
    this.spec = { ...spec };
    const expand = (key: keyof typeof FIELDS) => this.checked(() => {
      try {
        return expandField(spec[key], FIELDS[key]);
      } catch (error) {
        if (!(error instanceof CrontabFieldError)) throw error;
        throw new SchedulingError(`invalid crontab ${key} ${JSON.stringify(spec[key])}: ${error.message}.`, { cause: error });
      }
    }, [0]);
    this.minute = expand('minute');
    this.hour = expand('hour');
    this.dayOfWeek = expand('day_of_week');
    this.dayOfMonth = expand('day_of_month');
    this.monthOfYear = expand('month_of_year');
  }

  remainingEstimate(lastRunAt: Date): number {
    this.validate();
    const now = this.local(this.now());
    const last = this.local(lastRunAt.getTime());
    return remainingSeconds(last, (start) => forward(start, this.deltaToNext(last, now)), now);
  }

  isDue(lastRunAt: Date): ScheduleState {
    const remaining = Math.max(this.remainingEstimate(lastRunAt), 0);
    if (remaining > 0) return { isDue: false, next: remaining };
    return { isDue: true, next: Math.max(this.remainingEstimate(new Date(this.now())), 0) };
  }

  describe(): string {
    const f = (v: CronField | undefined) => (v === undefined ? '*' : Array.isArray(v) || v instanceof Set ? [...(v as Iterable<number>)].join(',') : String(v));
    const s = this.spec;
    return `<crontab: ${f(s.minute)} ${f(s.hour)} ${f(s.day_of_week)} ${f(s.day_of_month)} ${f(s.month_of_year)} (m/h/dM/MY/d)>`;
  }

  /** Celery's remaining_delta: the forward step from the last run to the next matching minute. */
  private deltaToNext(lastRunAt: WallTime, now: WallTime): Forward {
    const last = fieldsOf(lastRunAt);
    const n = fieldsOf(now);
    const maxMinute = this.minute[this.minute.length - 1]!;
    const maxHour = this.hour[this.hour.length - 1]!;
    const executeThisDate = this.monthOfYear.includes(last.month) && this.dayOfMonth.includes(last.day) && this.dayOfWeek.includes(last.dow);
    const executeThisHour = executeThisDate && last.day === n.day && last.month === n.month && last.year === n.year &&
      this.hour.includes(last.hour) && last.minute < maxMinute;
    if (executeThisHour) return { minute: this.minute.find((m) => m > last.minute)! };
    const nextMinute = this.minute[0]!;
    if (executeThisDate && last.hour < maxHour) return { hour: this.hour.find((h) => h > last.hour)!, minute: nextMinute };
    const nextHour = this.hour[0]!;
    if (isStar(this.spec.day_of_month) && isStar(this.spec.month_of_year)) {
      const nextDay = this.dayOfWeek.find((d) => d > last.dow) ?? this.dayOfWeek[0]!;
      // Python's weekday numbering (Monday = 0) for ffwd.
      return { weeks: nextDay === last.dow ? 1 : 0, weekday: (nextDay - 1 + 7) % 7, hour: nextHour, minute: nextMinute };
    }
    return this.nextDate(lastRunAt, nextHour, nextMinute);
  }

  /** Celery's _delta_to_next: the first date after the last run in the allowed months, days and weekdays. */
  private nextDate(lastRunAt: WallTime, hour: number, minute: number): Forward {
    const last = fieldsOf(lastRunAt);
    const lastInstant = lastRunAt.wall - lastRunAt.offset * 60_000;
    const days = this.dayOfMonth;
    const months = this.monthOfYear;
    let year = last.year;
    let dom: number;
    let moy: number;
    if (months.includes(last.month)) {
      dom = days.findIndex((d) => d > last.day);
      if (dom < 0) dom = days.length;
      moy = months.findIndex((m) => m >= last.month);
    } else {
      dom = 0;
      moy = months.findIndex((m) => m > last.month);
      if (moy < 0) moy = 0;
    }
    // Celery compares the candidate date's midnight, read as UTC, with the last run.
    const unusable = () =>
      dom === days.length || days[dom]! > daysInMonth(year, months[moy]!) || Date.UTC(year, months[moy]! - 1, days[dom]!) < lastInstant;
    const rollOver = () => {
      for (let i = 0; i < ROLL_LIMIT; i++) {
        if (!unusable()) return;
        dom = 0;
        moy += 1;
        if (moy === months.length) {
          moy = 0;
          year += 1;
        }
      }
      throw new SchedulingError(`The crontab ${this.describe()} never matches a date (its days do not occur in its months). Fix day_of_month or month_of_year.`);
    };
    rollOver();
    for (let i = 0; !this.dayOfWeek.includes(dowOf(year, months[moy]!, days[dom]!)); i++) {
      if (i > ROLL_LIMIT) throw new SchedulingError(`The crontab ${this.describe()} never matches a date: no allowed day of the month falls on an allowed day of the week.`);
      dom += 1;
      rollOver();
    }
    return { year, month: months[moy]!, day: days[dom]!, hour, minute };
  }
}

/** A crontab schedule (Celery's `crontab(minute, hour, day_of_week, day_of_month, month_of_year)`). */
export function crontab(spec: CrontabSpec = {}): Crontab {
  return new Crontab(spec);
}
