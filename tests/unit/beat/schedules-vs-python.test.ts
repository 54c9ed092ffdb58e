// crontab, interval and solar schedules answer is_due/next and remaining_estimate as Python's celery.schedules
// (Debian's python3-celery 5.2.6) does, for a table of specs × instants in UTC, Europe/Oslo and America/New_York,
// around both DST changes of 2024 in each zone, month ends, a leap day and a year end.

import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crontab, type CrontabSpec } from '../../../src/beat/crontab.js';
import { schedule, type BaseSchedule } from '../../../src/beat/schedule.js';
import { solar, type SolarEvent } from '../../../src/beat/solar.js';
import { zoneOffsetMinutes } from '../../../src/utils/time-zone.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'celery_schedules.py');

type Case =
  | { kind: 'crontab'; spec: CrontabSpec; tz: string; last: number; now: number }
  | { kind: 'interval'; spec: { seconds: number; relative?: boolean }; tz: string; last: number; now: number }
  | { kind: 'solar'; spec: { event: SolarEvent; lat: number; lon: number }; tz: string; last: number; now: number };
type Answer = { due: boolean; next: number; remaining: number } | { error: string };

function askPython(cases: Case[]): Answer[] {
  const out = execFileSync('/usr/bin/python3', [SCRIPT], { input: JSON.stringify(cases), maxBuffer: 64 << 20 });
  return JSON.parse(out.toString()) as Answer[];
}

function build(c: Case): BaseSchedule {
  const s = c.kind === 'crontab' ? crontab(c.spec) : c.kind === 'interval' ? schedule(c.spec.seconds, { relative: c.spec.relative }) : solar(c.spec.event, c.spec.lat, c.spec.lon);
  s.clock = { timezone: c.tz, now: () => c.now * 1000 };
  return s;
}

const iso = (s: string) => Date.parse(s) / 1000;
const ZONES = ['UTC', 'Europe/Oslo', 'America/New_York'];
// DST changes (UTC instants): Oslo spring/autumn, New York spring/autumn; then ordinary edges.
const PIVOTS = [
  iso('2024-03-31T01:00:00Z'), iso('2024-10-27T01:00:00Z'), iso('2024-03-10T07:00:00Z'), iso('2024-11-03T06:00:00Z'),
  iso('2024-02-29T12:34:56Z'), iso('2023-12-31T23:59:30Z'), iso('2024-04-30T22:15:00Z'),
];
const BEFORE = [3600 * 24 * 7, 3600 * 24, 3600, 61, 1];
const AFTER = [-1, 0, 30, 3 * 3600 + 7, 26 * 3600];

const CRONTABS: CrontabSpec[] = [
  {},
  { minute: '*/15' },
  { minute: 30, hour: 7 },
  { minute: 30, hour: 7, day_of_week: 'mon-fri' },
  { minute: 0, hour: '*/3' },
  { minute: 30, hour: 2 },
  { minute: '0,30', hour: '1-3' },
  { minute: 0, hour: 0, day_of_month: '1,15' },
  { minute: 0, hour: 0, day_of_month: 1, month_of_year: '*/3' },
  { minute: '30', hour: '2', day_of_week: 'sun' },
  { minute: 5, hour: 23, day_of_week: 'fri-mon' },
  { minute: '50-10/5' },
  { minute: 0, hour: 12, day_of_month: 29, month_of_year: 2 },
  { minute: 0, hour: 9, day_of_week: 0, day_of_month: '1-7' },
  { minute: [0, 20, 40], hour: [1, 2, 3, 22] },
  { minute: 59, hour: 23, day_of_month: 31 },
];

function crontabCases(): Case[] {
  const cases: Case[] = [];
  for (const tz of ZONES) for (const pivot of PIVOTS) for (const before of BEFORE) for (const after of AFTER) {
    for (const spec of CRONTABS) cases.push({ kind: 'crontab', spec, tz, last: pivot - before, now: pivot + after });
  }
  return cases;
}

// Celery 5.2's solar crashes where the event does not happen that day (its fallback adds a timedelta to an
// ephem.Date); celeriac answers "not due" there and checks again after the next solar midnight.
const CELERY_CIRCUMPOLAR_CRASH = "TypeError: unsupported operand type(s) for +: 'ephem.Date' and 'datetime.timedelta'";

function expectSame(cases: Case[], answers: Answer[], toleranceSeconds: number): void {
  const mismatches: string[] = [];
  cases.forEach((c, i) => {
    const py = answers[i]!;
    const s = build(c);
    if ('error' in py) {
      const ours = s.isDue(new Date(c.last * 1000));
      if (c.kind === 'solar' && py.error === CELERY_CIRCUMPOLAR_CRASH && !ours.isDue && ours.next > 0) return;
      return void mismatches.push(`${JSON.stringify(c)}: Python raised ${py.error}, celeriac ${JSON.stringify(ours)}`);
    }
    const ours = s.isDue(new Date(c.last * 1000));
    const remaining = s.remainingEstimate(new Date(c.last * 1000));
    if (ours.isDue !== py.due || Math.abs(ours.next - py.next) > toleranceSeconds || Math.abs(remaining - py.remaining) > toleranceSeconds) {
      mismatches.push(`${JSON.stringify(c)}: python ${JSON.stringify(py)}, celeriac ${JSON.stringify({ due: ours.isDue, next: ours.next, remaining })}`);
    }
  });
  expect(mismatches.slice(0, 10)).toEqual([]);
}

describe('schedules agree with Python celery.schedules', () => {
  it('crontab: is_due, next and remaining_estimate within a second, DST changes included', () => {
    const cases = crontabCases();
    expect(cases.length).toBeGreaterThan(5000);
    expectSame(cases, askPython(cases), 1);
  }, 120_000);

  it('interval: the same wherever the UTC offset did not change between last run and now', () => {
    const cases: Case[] = [];
    for (const tz of ZONES) for (const pivot of PIVOTS) for (const before of BEFORE) for (const after of AFTER) {
      for (const spec of [{ seconds: 10 }, { seconds: 90, relative: true }, { seconds: 3600 }, { seconds: 7200, relative: true }, { seconds: 86400, relative: true }]) {
        const last = pivot - before;
        const now = pivot + after;
        if (zoneOffsetMinutes(last * 1000, tz) === zoneOffsetMinutes(now * 1000, tz)) cases.push({ kind: 'interval', spec, tz, last, now });
      }
    }
    expect(cases.length).toBeGreaterThan(500);
    expectSame(cases, askPython(cases), 1);
  }, 120_000);

  it('interval across the autumn DST change: celeriac counts elapsed time where Celery 5.2 waits an extra hour', () => {
    // Oslo, 2024-10-27: 03:00 CEST becomes 02:00 CET at 01:00Z. Last run 00:59:59Z, now 01:00:05Z, every 10 s.
    const c: Case = { kind: 'interval', spec: { seconds: 10 }, tz: 'Europe/Oslo', last: iso('2024-10-27T00:59:59Z'), now: iso('2024-10-27T01:00:05Z') };
    const [py] = askPython([c]) as unknown as [{ due: boolean; next: number }];
    expect(py.due).toBe(false);
    expect(py.next).toBeGreaterThan(3600);
    expect(build(c).isDue(new Date(c.last * 1000))).toEqual({ isDue: false, next: 4 });
  });

  it('solar: the same events within two minutes (suncalc here, ephem in Celery)', () => {
    const cases: Case[] = [];
    const places = [{ lat: 59.91, lon: 10.75 }, { lat: 40.71, lon: -74.0 }, { lat: -33.87, lon: 151.21 }];
    const events: SolarEvent[] = ['sunrise', 'sunset', 'solar_noon', 'dawn_civil', 'dusk_nautical', 'dawn_astronomical'];
    for (const place of places) for (const event of events) for (const pivot of PIVOTS) for (const after of [0, 6 * 3600, 13 * 3600]) {
      cases.push({ kind: 'solar', spec: { event, ...place }, tz: 'UTC', last: pivot - 3600, now: pivot + after });
    }
    expectSame(cases, askPython(cases), 120);
  }, 120_000);
});
