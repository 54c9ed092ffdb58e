// Celery's "aware datetime" as schedules compute with it: a wall-clock reading in the app's zone plus the fixed UTC
// offset it was read with. Python adds to and replaces fields of such a value without re-reading the zone, and
// crontab's next-run arithmetic depends on that; this room reproduces it. Pure: no clock, no timers.

import { zoneOffsetMinutes } from '../utils/time-zone.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A wall-clock time with the fixed offset it carries (Python's aware datetime with a pytz tzinfo). */
export interface WallTime {
  /** The wall-clock reading encoded as if it were UTC: Date.UTC(year, month - 1, day, hour, minute, …). */
  readonly wall: number;
  /** Minutes east of UTC this value carries (not re-read when fields change, as in Python). */
  readonly offset: number;
}

/** The calendar fields of a WallTime (month and day 1-based, as in Python). */
export interface WallFields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly ms: number;
  /** Python's isoweekday() % 7: 0 = Sunday … 6 = Saturday (Celery's day_of_week numbering). */
  readonly dow: number;
}

/** The instant `epochMs` as read in `zone` (Python's `dt.astimezone(tz)`). */
export function wallAt(epochMs: number, zone: string): WallTime {
  const offset = zoneOffsetMinutes(epochMs, zone);
  return { wall: epochMs + offset * MINUTE_MS, offset };
}

/** The instant a WallTime denotes, in epoch ms. */
export function instantOf(t: WallTime): number {
  return t.wall - t.offset * MINUTE_MS;
}

/** The calendar fields of a WallTime as its wall clock reads them. */
export function fieldsOf(t: WallTime): WallFields {
  const d = new Date(t.wall);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    ms: d.getUTCMilliseconds(),
    dow: d.getUTCDay(),
  };
}

/** Number of days in a month (Python's calendar.monthrange(year, month)[1]). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Day of week (0 = Sunday) of a calendar date. */
export function dowOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

/**
 * Celery's `ffwd` (a relativedelta that only adds): absent fields keep the value of the time it is added to;
 * `weekday` (Python's numbering, Monday = 0) moves forward to that weekday; `weeks` adds whole weeks.
 */
export interface Forward {
  readonly year?: number;
  readonly month?: number;
  readonly day?: number;
  readonly hour?: number;
  readonly minute?: number;
  readonly weeks?: number;
  readonly weekday?: number;
}

/** `t + ffwd(...)` with seconds and microseconds set to 0, keeping t's offset (Python's ffwd.__radd__). */
export function forward(t: WallTime, f: Forward): WallTime {
  const o = fieldsOf(t);
  const year = f.year || o.year;
  const month = f.month || o.month;
  const day = Math.min(daysInMonth(year, month), f.day || o.day);
  let wall = Date.UTC(year, month - 1, day, f.hour ?? o.hour, f.minute ?? o.minute, 0, 0);
  if (f.weekday !== undefined) {
    const pyWeekday = (new Date(wall).getUTCDay() + 6) % 7;
    wall += ((7 - pyWeekday + f.weekday) % 7) * DAY_MS;
  }
  return { wall: wall + (f.weeks ?? 0) * 7 * DAY_MS, offset: t.offset };
}

/**
 * Celery's `remaining(start, ends_in, now)`: when the zone's offset changed between `start` and `now` (a DST
 * change), start's wall time is read with now's offset first, so "07:30" stays 07:30 on the wall. Seconds, may be
 * negative.
 */
export function remainingSeconds(start: WallTime, ends: (start: WallTime) => WallTime, now: WallTime): number {
  const from = start.offset === now.offset ? start : { wall: start.wall, offset: now.offset };
  return (instantOf(ends(from)) - instantOf(now)) / 1000;
}
