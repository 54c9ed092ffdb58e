// Celery's crontab field syntax expanded to sets of numbers: `*`, `*/15`, `3`, `1-5`, `1-10/2`, ranges that wrap
// (`fri-mon`, `22-2`), comma lists, day names (`mon`, `monday`), numbers, arrays and sets. Pure.
//
// Same expansion as Celery's crontab_parser, with these differences, all for input Celery accepts by accident or
// rejects: a part must match whole (Celery ignores text after a range such as `1-5!`); day names must be a day's
// three-letter or full name (Celery reads any word by its first three letters, `monkey` as Monday) and are read in
// day_of_week only; month names (`jan`…`dec`) are read in month_of_year; day_of_week 7 is Sunday as in cron.

/** Raised with a message that names the problem; the entry loader adds the entry and field. */
export class CrontabFieldError extends Error {}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** One crontab field: its name, how many values it has and the first one (Celery's max_ and min_). */
export interface FieldSpec {
  readonly name: 'minute' | 'hour' | 'day_of_week' | 'day_of_month' | 'month_of_year';
  readonly max: number;
  readonly min: number;
}

/** The five crontab fields with Celery's ranges: minute 0-59, hour 0-23, day_of_week 0-6, day_of_month 1-31, month 1-12. */
export const FIELDS = {
  minute: { name: 'minute', max: 60, min: 0 },
  hour: { name: 'hour', max: 24, min: 0 },
  day_of_week: { name: 'day_of_week', max: 7, min: 0 },
  day_of_month: { name: 'day_of_month', max: 31, min: 1 },
  month_of_year: { name: 'month_of_year', max: 12, min: 1 },
} as const satisfies Record<string, FieldSpec>;

/** What a crontab field may be given as (Celery's int, str, set or iterable). */
export type CronField = number | string | readonly number[] | ReadonlySet<number>;

// Bounded input: a field is a few dozen characters at most in any real schedule.
const MAX_SPEC_LENGTH = 256;
const RANGE_STEP = /^(\w+?)-(\w+)\/(\w*)$/;
const RANGE = /^(\w+?)-(\w+)$/;
const STAR_STEP = /^\*\/(\w*)$/;

/** Expand one field to its sorted values; throws CrontabFieldError naming the bad part. */
export function expandField(value: CronField | null | undefined, field: FieldSpec): number[] {
  let result: number[];
  if (value === undefined || value === null) result = star(field);
  else if (typeof value === 'number') result = [checkNumber(value, field)];
  else if (typeof value === 'string') result = parse(value, field);
  else if (Array.isArray(value) || value instanceof Set) result = [...(value as Iterable<unknown>)].map((n) => checkNumber(n, field));
  else throw new CrontabFieldError(`expected a number, a string such as '*/15' or '1-5', or a list of numbers; got ${typeof value}`);
  const set = new Set(field === FIELDS.day_of_week ? result.map((n) => n % 7) : result);
  if (set.size === 0) throw new CrontabFieldError('no values (an empty list)');
  return [...set].sort((a, b) => a - b);
}

/** Whether a field was given as Celery's `'*'` (or left out): crontab's arithmetic takes a shortcut then. */
export function isStar(value: CronField | null | undefined): boolean {
  return value === undefined || value === null || value === '*';
}

function parse(spec: string, field: FieldSpec): number[] {
  if (spec.length > MAX_SPEC_LENGTH) throw new CrontabFieldError(`the value is ${spec.length} characters long; a crontab field is at most ${MAX_SPEC_LENGTH}`);
  const out: number[] = [];
  for (const part of spec.split(',')) {
    if (!part) throw new CrontabFieldError(`'${spec}' has an empty part between commas`);
    out.push(...parsePart(part.trim(), field));
  }
  return out;
}

function parsePart(part: string, field: FieldSpec): number[] {
  let m = RANGE_STEP.exec(part);
  if (m) return stepped(range(m[1]!, m[2]!, field), m[3]!, part);
  m = RANGE.exec(part);
  if (m) return range(m[1]!, m[2]!, field);
  m = STAR_STEP.exec(part);
  if (m) return stepped(star(field), m[1]!, part);
  if (part === '*') return star(field);
  return [toNumber(part, field)];
}

function star(field: FieldSpec): number[] {
  return Array.from({ length: field.max }, (_, i) => field.min + i);
}

/** `fr-to`, wrapping past the field's end when to < fr (Celery: `22-2` is 22, 23, 0, 1, 2). */
function range(from: string, to: string, field: FieldSpec): number[] {
  const fr = toNumber(from, field);
  const end = toNumber(to, field);
  const span = (a: number, b: number) => Array.from({ length: Math.max(b - a, 0) }, (_, i) => a + i);
  return end < fr ? [...span(fr, field.min + field.max), ...span(field.min, end + 1)] : span(fr, end + 1);
}

/** Every step-th value of the expanded list (Python's list[::step]). */
function stepped(values: number[], step: string, part: string): number[] {
  if (!step) throw new CrontabFieldError(`'${part}' has no step after '/'`);
  if (!/^\d+$/.test(step) || Number(step) < 1) throw new CrontabFieldError(`'${part}' has step '${step}'; a step is a whole number ≥ 1`);
  return values.filter((_, i) => i % Number(step) === 0);
}

function toNumber(token: string, field: FieldSpec): number {
  if (token.startsWith('-')) throw new CrontabFieldError(`'${token}' is negative; crontab values are not`);
  if (/^\d+$/.test(token)) return checkNumber(Number(token), field);
  const word = token.toLowerCase();
  if (field === FIELDS.day_of_week) {
    const day = DAYS.indexOf(word) >= 0 ? DAYS.indexOf(word) : DAY_NAMES.indexOf(word);
    if (day >= 0) return day;
    throw new CrontabFieldError(`'${token}' is not a day of the week (sun, mon, tue, wed, thu, fri, sat or a full name)`);
  }
  if (field === FIELDS.month_of_year && MONTHS.includes(word)) return MONTHS.indexOf(word) + 1;
  throw new CrontabFieldError(`'${token}' is not a number`);
}

function checkNumber(n: unknown, field: FieldSpec): number {
  // Sunday may be written 7 as in cron (Celery 5.2 accepts only 0).
  const max = field.min + field.max - 1 + (field === FIELDS.day_of_week ? 1 : 0);
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new CrontabFieldError(`${JSON.stringify(n)} is not a whole number`);
  if (n > max || n < field.min) throw new CrontabFieldError(`${n} is out of range: valid values are ${field.min}-${max}`);
  return n;
}
