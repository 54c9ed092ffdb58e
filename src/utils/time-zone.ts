// Time-zone arithmetic on IANA names through Node's own Intl (ICU's tz database): the app's zone as Celery
// picks it and a zone's UTC offset at an instant. No other time library: ICU is what luxon and date-fns-tz read too.

const formatters = new Map<string, Intl.DateTimeFormat>();
const OFFSET = /GMT(?:([+-])(\d{1,2})(?::(\d{2}))?)?/;

/**
 * The app's time zone, as Celery's `app.timezone`: the `timezone` setting when set, else `'UTC'` when `enable_utc`
 * is true (Celery's default), else the machine's zone. An IANA name such as 'Europe/London'.
 */
export function appTimeZone(timezone: string | null | undefined, enableUtc: boolean): string {
  if (timezone) return timezone;
  return enableUtc ? 'UTC' : new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * Minutes east of UTC that `zone` observes at the instant `epochMs` (e.g. 540 for Asia/Tokyo, −300 for
 * America/New_York in winter, −240 in summer). Throws RangeError for an unknown zone name.
 */
export function zoneOffsetMinutes(epochMs: number, zone: string): number {
  if (zone === 'UTC') return 0;
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset', year: 'numeric' });
    formatters.set(zone, format);
  }
  const name = format.formatToParts(epochMs).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = OFFSET.exec(name);
  if (!m?.[1]) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}
