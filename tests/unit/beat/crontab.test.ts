import { describe, expect, it } from 'vitest';
import { crontab } from '../../../src/beat/crontab.js';
import { schedule } from '../../../src/beat/schedule.js';
import { solar } from '../../../src/beat/solar.js';
import { SchedulingError } from '../../../src/errors.js';

describe('crontab fields expand as Celery expands them', () => {
  it('steps, ranges, lists, wrapping ranges and names', () => {
    expect(crontab({ minute: '*/15' }).minute).toEqual([0, 15, 30, 45]);
    expect(crontab({ hour: '22-2' }).hour).toEqual([0, 1, 2, 22, 23]);
    expect(crontab({ minute: '50-10/5' }).minute).toEqual([0, 5, 10, 50, 55]);
    expect(crontab({ day_of_week: 'mon-fri' }).dayOfWeek).toEqual([1, 2, 3, 4, 5]);
    expect(crontab({ day_of_week: 'fri-mon' }).dayOfWeek).toEqual([0, 1, 5, 6]);
    expect(crontab({ day_of_week: 'Saturday,sun' }).dayOfWeek).toEqual([0, 6]);
    expect(crontab({ day_of_month: '*/10' }).dayOfMonth).toEqual([1, 11, 21, 31]);
    expect(crontab({ month_of_year: '2-12/2' }).monthOfYear).toEqual([2, 4, 6, 8, 10, 12]);
    expect(crontab({ month_of_year: 'jan,jul' }).monthOfYear).toEqual([1, 7]);
    expect(crontab({ minute: [0, 30], hour: new Set([8, 9]) }).hour).toEqual([8, 9]);
  });

  it('day_of_week 0 and 7 are both Sunday', () => {
    expect(crontab({ day_of_week: 7 }).dayOfWeek).toEqual([0]);
    expect(crontab({ day_of_week: '5-7' }).dayOfWeek).toEqual([0, 5, 6]);
    expect(crontab({ day_of_week: '0-7' }).dayOfWeek).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it.each([
    [{ minute: '61' }, /invalid crontab minute "61": 61 is out of range: valid values are 0-59/],
    [{ day_of_week: 'funday' }, /crontab day_of_week "funday": 'funday' is not a day of the week/],
    [{ hour: '*/0' }, /step '0'/],
    [{ hour: '1,,2' }, /empty part/],
    [{ day_of_month: 0 }, /day_of_month 0: 0 is out of range: valid values are 1-31/],
    [{ minute: [] }, /no values/],
    [{ minute: '-5' }, /negative/],
    [{ minute: 'x'.repeat(300) }, /at most 256/],
  ])('rejects %j with a SchedulingError naming the field', (spec, message) => {
    const s = crontab(spec as never);
    expect(() => s.validate()).toThrow(SchedulingError);
    expect(() => s.isDue(new Date())).toThrow(message);
  });

  it('a crontab whose days never occur says so instead of looping', () => {
    const s = crontab({ day_of_month: 31, month_of_year: 2 });
    expect(() => s.isDue(new Date('2024-01-01T00:00:00Z'))).toThrow(/never matches a date/);
  });

  it('reads fields in the clock\'s zone: 07:30 in Oslo is 06:30Z in winter and 05:30Z in summer', () => {
    const s = crontab({ minute: 30, hour: 7 });
    const at = (now: string) => {
      s.clock = { timezone: 'Europe/Oslo', now: () => Date.parse(now) };
      return s.remainingEstimate(new Date(Date.parse(now) - 1000));
    };
    expect(at('2024-01-15T06:00:00Z')).toBe(1800);
    expect(at('2024-07-15T05:00:00Z')).toBe(1800);
  });
});

describe('interval and solar schedules', () => {
  it('an interval is due once its seconds have passed, then asks to be checked a whole interval later', () => {
    const s = schedule({ minutes: 1 });
    s.clock = { timezone: 'UTC', now: () => 100_000 };
    expect(s.isDue(new Date(50_000))).toEqual({ isDue: false, next: 10 });
    expect(s.isDue(new Date(40_000))).toEqual({ isDue: true, next: 60 });
  });

  it.each([0, -1, Number.NaN, Infinity, '10'])('rejects an interval of %j', (value) => {
    expect(() => schedule(value as never).validate()).toThrow(/greater than 0/);
  });

  it('rejects unknown solar events and places off the globe', () => {
    expect(() => solar('teatime' as never, 0, 0).validate()).toThrow(/unknown solar event "teatime"/);
    expect(() => solar('sunrise', 91, 0).isDue(new Date())).toThrow(/latitude/);
    expect(() => solar('sunrise', 0, -181).validate()).toThrow(/longitude/);
  });
});
