// Dates on the wire (a task's eta and expires): one strict ISO 8601 parser with Celery's rules, and the
// formatter for what we send. Never `new Date(string)`: it reads a naive time in the machine's zone.

import { InvalidTaskError, type ErrorContext } from '../errors.js';
import { zoneOffsetMinutes } from './time-zone.js';

/** A parsed wire date. */
export interface WireTime {
  /** The instant, in epoch milliseconds (microseconds beyond the millisecond are dropped). */
  readonly epochMs: number;
  /** The offset east of UTC written in the text, in minutes; null for a naive time (read as UTC). */
  readonly offsetMinutes: number | null;
  /** The text as received. */
  readonly text: string;
}

// Longer input is not a date: refuse it before running a regular expression over it.
const MAX_LENGTH = 64;
// Extended ISO 8601, the shape Python's isoformat() writes (date; optional time with 'T' or ' '; fraction with '.' or
// ','; offset Z, ±HH:MM, ±HHMM or ±HH), matched whole.
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Parse an eta or expires value from a message or a user, with Celery's rules: ISO 8601; the offset written is
 * kept; a naive time (no offset) is UTC whatever the `timezone` and `enable_utc` settings (Celery 5.2 to 5.5 make it
 * aware as UTC before converting to the app's zone, so the instant does not move).
 *
 * Garbage is not thrown but returned as an InvalidTaskError naming the field and the value, so the worker can
 * store it as the task's FAILURE (Celery raises InvalidTaskError for the same input).
 */
export function parseWireTime(value: unknown, field: string, context: ErrorContext = {}): WireTime | InvalidTaskError {
  const m = typeof value === 'string' && value.length <= MAX_LENGTH ? ISO.exec(value) : null;
  if (!m) return invalid(value, field, context, 'not an ISO 8601 date-time');
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const millis = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  // setUTC* roll over (Feb 30 → Mar 2); a rolled field means the text named a day or time that does not exist.
  if (year < 1 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    return invalid(value, field, context, 'no such date or time');
  }
  const offset = offsetOf(m[8]);
  if (offset === undefined) return invalid(value, field, context, 'the UTC offset must be under 24 hours');
  return { epochMs: date.getTime() - (offset ?? 0) * 60_000, offsetMinutes: offset, text: value as string };
}

/**
 * Python's `datetime.isoformat()` of the instant `epochMs` in time zone `zone` (default UTC), with microseconds:
 * `2026-11-25T10:47:10.250000+09:00`. This is what Celery's client writes for eta and expires.
 */
export function formatWireTime(epochMs: number, zone = 'UTC'): string {
  const offset = zoneOffsetMinutes(epochMs, zone);
  const local = new Date(epochMs + offset * 60_000).toISOString().slice(0, 23);
  const abs = Math.abs(offset);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${local}000${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * An eta or expires to send, as Celery's client writes it: a number is seconds from `now` (countdown, expires);
 * a Date is formatted in `zone` (the app's time zone); a string is checked and sent as written (its offset kept).
 * Throws InvalidTaskError for a number that is not finite, an Invalid Date, or a string that is not a date.
 */
export function wireTimeToSend(value: number | Date | string, field: 'eta' | 'expires' | 'countdown', zone: string, now = Date.now()): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(value, field, {}, 'not a finite number of seconds (Celery\'s unit)', 'Pass seconds, e.g. 30 or 0.5.');
    return formatWireTime(now + value * 1000, zone);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw invalid(value, field, {}, 'an Invalid Date', 'Pass a valid Date or an ISO 8601 string.');
    return formatWireTime(value.getTime(), zone);
  }
  const parsed = parseWireTime(value, field);
  if (parsed instanceof InvalidTaskError) throw parsed;
  return parsed.text;
}

/** Minutes east of UTC; null when the text has no offset; undefined when the offset is out of range. */
function offsetOf(text: string | undefined): number | null | undefined {
  if (!text) return null;
  if (text === 'Z' || text === 'z') return 0;
  const digits = text.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || 0);
  if (hours > 23 || minutes > 59) return undefined;
  return (text[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

const ISO_HINT = 'Send an ISO 8601 date-time such as 2026-11-25T01:47:10.250101+00:00 (a time without an offset is read as UTC).';

function invalid(value: unknown, field: string, context: ErrorContext, why: string, hint = ISO_HINT): InvalidTaskError {
  const where = context.taskId ? ` (task ${context.taskName ? `${context.taskName}[${context.taskId}]` : context.taskId})` : '';
  return new InvalidTaskError(`Invalid ${field} value ${show(value)}${where}: ${why}. ${hint}`, { context });
}

function show(value: unknown): string {
  const cut = (text: string) => (text.length > 80 ? `${text.slice(0, 80)}…` : text);
  if (typeof value === 'string') return `'${cut(value)}'`;
  if (value instanceof Date) return 'Invalid Date';
  return cut(typeof value === 'object' && value !== null ? safeJson(value) : String(value));
}

function safeJson(value: object): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
