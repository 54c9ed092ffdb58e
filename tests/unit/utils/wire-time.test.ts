import { describe, expect, it } from 'vitest';
import { InvalidTaskError } from '../../../src/errors.js';
import { appTimeZone, zoneOffsetMinutes } from '../../../src/utils/time-zone.js';
import { formatWireTime, parseWireTime, wireTimeToSend, type WireTime } from '../../../src/utils/wire-time.js';

const JAN1 = Date.UTC(2026, 0, 1);

function ok(value: unknown): WireTime {
  const parsed = parseWireTime(value, 'eta');
  if (parsed instanceof InvalidTaskError) throw parsed;
  return parsed;
}

describe('parseWireTime: Celery\'s rules', () => {
  it('reads a naive time as UTC, whatever the machine\'s TZ (Celery 5.2.6: naive → UTC, timezone setting or not)', () => {
    // Measured with Debian's Celery 5.2.6: maybe_make_aware('2026-01-01T00:00:00', 'Asia/Tokyo').timestamp() == 1767225600.
    expect(ok('2026-01-01T00:00:00').epochMs).toBe(JAN1);
    expect(ok('2026-01-01T00:00:00').offsetMinutes).toBeNull();
    expect(ok('2026-01-01 00:00:00').epochMs).toBe(JAN1);
    expect(ok('2026-01-01').epochMs).toBe(JAN1);
  });

  it('keeps the offset written and computes the instant from it', () => {
    const t = ok('2026-01-01T09:00:00.250101+09:00');
    expect(t.epochMs).toBe(JAN1 + 250);
    expect(t.offsetMinutes).toBe(540);
    expect(t.text).toBe('2026-01-01T09:00:00.250101+09:00');
    expect(ok('2025-12-31T19:00:00-05:00').epochMs).toBe(JAN1);
    expect(ok('2025-12-31T19:00:00-0500').epochMs).toBe(JAN1);
    expect(ok('2026-01-01T05:30:00+05:30').epochMs).toBe(JAN1);
    expect(ok('2026-01-01T00:00:00Z').offsetMinutes).toBe(0);
    expect(ok('2026-01-01T00:00Z').epochMs).toBe(JAN1);
    expect(ok('2026-01-01T00:00:00,5+00:00').epochMs).toBe(JAN1 + 500);
  });

  it('reads fractions as fractions of a second, to the millisecond', () => {
    expect(ok('2026-01-01T00:00:00.1Z').epochMs).toBe(JAN1 + 100);
    expect(ok('2026-01-01T00:00:00.123456789Z').epochMs).toBe(JAN1 + 123);
    expect(ok('2026-01-01T00:00:00.999999Z').epochMs).toBe(JAN1 + 999);
  });

  it('handles years before 100 without Date.UTC\'s 1900 shift', () => {
    expect(new Date(ok('0050-06-01T00:00:00Z').epochMs).getUTCFullYear()).toBe(50);
  });

  it.each([
    'next tuesday', 'garbage', '', '2026-01', '2026-02-30', '2026-13-01', '2026-01-01T24:00:00', '2026-01-01T23:60:00',
    '2026-01-01T00:00:60', '2026-01-01T00:00:00+24:00', '2026-01-01T00:00:00garbage', '0000-01-01', ' 2026-01-01',
    `2026-01-01T00:00:00.${'1'.repeat(80)}`,
  ])('returns an InvalidTaskError for %j', (text) => {
    const parsed = parseWireTime(text, 'eta', { taskId: 'abc', taskName: 'tasks.add' });
    expect(parsed).toBeInstanceOf(InvalidTaskError);
    expect((parsed as InvalidTaskError).message).toMatch(/^Invalid eta value '.*' \(task tasks\.add\[abc\]\): .*ISO 8601/);
    expect((parsed as InvalidTaskError).context.taskId).toBe('abc');
  });

  it.each([[1767225600], [null], [{ at: 1 }], [10n], [['2026-01-01']]])('refuses a non-string %s', (value) => {
    const parsed = parseWireTime(value, 'expires');
    expect(parsed).toBeInstanceOf(InvalidTaskError);
    expect((parsed as Error).message).toContain('Invalid expires value');
  });

  it('returns the same instant under any process TZ (this file also runs under TZ=Asia/Tokyo)', () => {
    expect(ok('2026-07-01T12:00:00').epochMs).toBe(Date.UTC(2026, 6, 1, 12));
  });
});

describe('formatWireTime and the app\'s time zone', () => {
  it('writes Python\'s isoformat with microseconds and offset', () => {
    expect(formatWireTime(JAN1 + 250)).toBe('2026-01-01T00:00:00.250000+00:00');
    expect(formatWireTime(JAN1, 'Asia/Tokyo')).toBe('2026-01-01T09:00:00.000000+09:00');
    expect(formatWireTime(JAN1, 'America/New_York')).toBe('2025-12-31T19:00:00.000000-05:00');
    expect(formatWireTime(Date.UTC(2026, 6, 1), 'America/New_York')).toBe('2026-06-30T20:00:00.000000-04:00');
    expect(formatWireTime(JAN1, 'Asia/Kolkata')).toBe('2026-01-01T05:30:00.000000+05:30');
  });

  it('round-trips: what we write parses back to the same instant and offset', () => {
    for (const zone of ['UTC', 'Asia/Tokyo', 'America/St_Johns', 'Europe/London']) {
      const t = ok(formatWireTime(JAN1 + 123, zone));
      expect(t.epochMs).toBe(JAN1 + 123);
      expect(t.offsetMinutes).toBe(zoneOffsetMinutes(JAN1, zone));
    }
  });

  it('picks the zone as Celery\'s app.timezone does', () => {
    expect(appTimeZone(null, true)).toBe('UTC');
    expect(appTimeZone('Asia/Tokyo', true)).toBe('Asia/Tokyo');
    expect(appTimeZone('Asia/Tokyo', false)).toBe('Asia/Tokyo');
    expect(appTimeZone(null, false)).toBe(new Intl.DateTimeFormat().resolvedOptions().timeZone);
  });

  it('gives DST-aware offsets', () => {
    expect(zoneOffsetMinutes(JAN1, 'Europe/Berlin')).toBe(60);
    expect(zoneOffsetMinutes(Date.UTC(2026, 6, 1), 'Europe/Berlin')).toBe(120);
    expect(zoneOffsetMinutes(JAN1, 'America/St_Johns')).toBe(-210);
  });
});

describe('wireTimeToSend: what the client writes', () => {
  it('turns seconds into now + seconds in the app zone', () => {
    expect(wireTimeToSend(1.5, 'countdown', 'UTC', JAN1)).toBe('2026-01-01T00:00:01.500000+00:00');
    expect(wireTimeToSend(30 * 86_400, 'expires', 'Asia/Tokyo', JAN1)).toBe('2026-01-31T09:00:00.000000+09:00');
  });

  it('formats a Date in the app zone and sends a string as written', () => {
    expect(wireTimeToSend(new Date(JAN1), 'eta', 'Asia/Tokyo')).toBe('2026-01-01T09:00:00.000000+09:00');
    expect(wireTimeToSend('2026-01-01T00:00:00', 'eta', 'Asia/Tokyo')).toBe('2026-01-01T00:00:00');
  });

  it.each([
    [Number.NaN, 'countdown'], [Infinity, 'expires'], [new Date('x'), 'eta'], ['next tuesday', 'eta'],
  ] as const)('throws InvalidTaskError for %s as %s', (value, field) => {
    expect(() => wireTimeToSend(value, field, 'UTC')).toThrow(InvalidTaskError);
    expect(() => wireTimeToSend(value, field, 'UTC')).toThrow(new RegExp(`Invalid ${field} value`));
  });
});
