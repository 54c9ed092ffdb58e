// The building blocks of the settings table: a typed spec per setting and one checker per value type.
// Pure data and pure functions: no I/O, no environment, no knowledge of transports or serializer registries.

import { urlProblem } from '../urls.js';

/** The value kinds a setting can have; each has one checker below. */
export type SettingType =
  | 'string' | 'bool' | 'int' | 'float' | 'seconds' | 'list' | 'dict' | 'any' | 'choice'
  | 'serializer' | 'serializers' | 'compression' | 'broker-url' | 'backend-url' | 'rate' | 'timezone' | 'ssl';

/** The outcome of checking one value: the normalised value, or a hint (whole sentences) for the error message. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly hint?: string };

/**
 * One row of the table. `T` is the value type `conf.get()` returns; `O` the old upper-case names, kept as
 * literal types so `conf.CELERY_TIMEZONE` is typed too.
 */
export interface SettingSpec<T = unknown, O extends string = string> {
  readonly type: SettingType;
  /** Celery's default (celeriac deviations say so in `doc`). Objects are copied per Config, never shared. */
  readonly default: T;
  /** One line: what the setting does. */
  readonly doc: string;
  /** Pre-4.0 upper-case names that still set this setting (Celery's "New lowercase settings" table). */
  readonly old: readonly O[];
  /** What a valid value looks like, for error messages. */
  readonly expects: string;
  /** Accept and normalise a value (`'4'` → 4 for an int, a Set → a list), or explain the refusal. */
  readonly check: (value: unknown) => Checked<T>;
}

/** `T`, or `T | null` when the default is null or the setting says null is allowed. */
type Value<T, D, N> = null extends D ? T | null : true extends N ? T | null : T;

interface Options<O extends string, N extends boolean> {
  old?: readonly O[];
  /** Accept null even though the default is not null (null then means "none" or "no limit"). */
  nullable?: N;
}

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const no = (hint?: string): Checked<never> => ({ ok: false, hint });

function spec<T, O extends string>(
  type: SettingType, def: unknown, doc: string, old: readonly O[] | undefined, nullable: boolean,
  expects: string, check: (value: unknown) => Checked<unknown>,
): SettingSpec<T, O> {
  const allowNull = def === null || nullable;
  return {
    type, default: def as T, doc, old: old ?? [],
    expects: allowNull ? `${expects}, or null` : expects,
    check: (value) => (value === null ? (allowNull ? ok(null as T) : no()) : (check(value) as Checked<T>)),
  };
}

/** A free-form string. */
export function string<D extends string | null, const O extends string = never, N extends boolean = false>(
  def: D, doc: string, opts: Options<O, N> = {},
): SettingSpec<Value<string, D, N>, O> {
  return spec('string', def, doc, opts.old, opts.nullable === true, 'a string', (v) => (typeof v === 'string' ? ok(v) : no()));
}

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

/** true/false; the strings 'true'/'false'/'yes'/'no'/'on'/'off'/'1'/'0' are accepted as Celery does for CLI and env values. */
export function bool<D extends boolean | null, const O extends string = never, N extends boolean = false>(
  def: D, doc: string, opts: Options<O, N> = {},
): SettingSpec<Value<boolean, D, N>, O> {
  return spec('bool', def, doc, opts.old, opts.nullable === true, 'true or false', (v) => {
    if (typeof v === 'boolean') return ok(v);
    if (v === 0 || v === 1) return ok(v === 1);
    if (typeof v === 'string') {
      const s = v.trim().toLowerCase();
      if (TRUE.has(s)) return ok(true);
      if (FALSE.has(s)) return ok(false);
    }
    return no();
  });
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** A whole number, optionally with a lower bound; numeric strings are converted. */
export function int<D extends number | null, const O extends string = never, N extends boolean = false>(
  def: D, doc: string, opts: Options<O, N> & { min?: number } = {},
): SettingSpec<Value<number, D, N>, O> {
  const { min } = opts;
  return spec('int', def, doc, opts.old, opts.nullable === true, `an integer${min === undefined ? '' : ` ≥ ${min}`}`, (v) => {
    const n = toNumber(v);
    return n !== undefined && Number.isInteger(n) && (min === undefined || n >= min) ? ok(n) : no();
  });
}

/** A finite number (Infinity only when `infinite`), optionally with a lower bound. */
export function float<D extends number | null, const O extends string = never, N extends boolean = false>(
  def: D, doc: string, opts: Options<O, N> & { min?: number; infinite?: boolean } = {},
): SettingSpec<Value<number, D, N>, O> {
  const { min, infinite } = opts;
  const expects = `a number${min === undefined ? '' : ` ≥ ${min}`}${infinite ? ' (Infinity allowed)' : ''}`;
  return spec('float', def, doc, opts.old, opts.nullable === true, expects, (v) => {
    const n = toNumber(v);
    if (n === undefined || Number.isNaN(n) || (!Number.isFinite(n) && !(infinite && n === Infinity))) return no();
    return min === undefined || n >= min ? ok(n) : no();
  });
}

/** A duration in seconds (a number ≥ 0; fractions allowed), as Celery's int/float/timedelta settings. */
export function seconds<D extends number | null, const O extends string = never, N extends boolean = false>(
  def: D, doc: string, opts: Options<O, N> = {},
): SettingSpec<Value<number, D, N>, O> {
  return spec('seconds', def, doc, opts.old, opts.nullable === true, 'a number of seconds ≥ 0, e.g. 30 or 0.5', (v) => {
    const n = toNumber(v);
    return n !== undefined && Number.isFinite(n) && n >= 0 ? ok(n) : no();
  });
}

/** Celery's list/tuple/set settings: an array or Set of strings, or a comma-separated string. */
function stringList(v: unknown): string[] | undefined {
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const items = v instanceof Set ? [...v] : Array.isArray(v) ? v : undefined;
  return items?.every((s) => typeof s === 'string') ? [...items] : undefined;
}

/** A list of strings (module names, queue names …). */
export function list<D extends readonly string[] | null, const O extends string = never, N extends boolean = false>(
  def: D, doc: string, opts: Options<O, N> = {},
): SettingSpec<Value<string[], D, N>, O> {
  return spec('list', def, doc, opts.old, opts.nullable === true, 'a list of strings, e.g. ["a", "b"] (or "a,b")', (v) => {
    const items = stringList(v);
    return items ? ok(items) : no();
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A mapping, given as a plain object (a Map is converted). */
export function dict<D extends Record<string, unknown> | null, const O extends string = never, N extends boolean = false>(
  def: D, doc: string, opts: Options<O, N> = {},
): SettingSpec<Value<Record<string, unknown>, D, N>, O> {
  return spec('dict', def, doc, opts.old, opts.nullable === true, 'an object, e.g. { key: value }', (v) => {
    if (v instanceof Map) return ok(Object.fromEntries(v));
    return isPlainObject(v) ? ok(v) : no();
  });
}

/** Anything but undefined: routers, annotations, queue lists, callables. `accept` narrows it when it can. */
export function any<const O extends string = never>(
  def: unknown, doc: string, opts: { old?: readonly O[]; expects?: string; accept?: (v: unknown) => boolean } = {},
): SettingSpec<unknown, O> {
  const { accept } = opts;
  return spec('any', def, doc, opts.old, true, opts.expects ?? 'any value', (v) => (accept === undefined || accept(v) ? ok(v) : no()));
}

/** A user, group or umask for daemonizing: a name or a number, as Python configs write either. */
export function nameOrNumber(doc: string): SettingSpec<unknown, never> {
  return any(null, doc, { expects: 'a name or a whole number', accept: (v) => typeof v === 'string' || Number.isInteger(v) });
}

/** TLS options: true/false, or an object of options for the driver. */
export function ssl<D extends boolean | null, const O extends string = never>(
  def: D, doc: string, opts: { old?: readonly O[] } = {},
): SettingSpec<boolean | Record<string, unknown> | null, O> {
  return spec('ssl', def, doc, opts.old, true, 'true, false, or an object of TLS options such as { ca: "/path/ca.pem" }', (v) =>
    typeof v === 'boolean' || isPlainObject(v) ? ok(v) : no());
}

/** Exactly one of `choices`; numeric strings match numeric choices. Near misses get a suggestion. */
export function choice<const C extends readonly (string | number)[], D extends C[number] | null, const O extends string = never, N extends boolean = false>(
  def: D, choices: C, doc: string, opts: Options<O, N> = {},
): SettingSpec<Value<C[number], D, N>, O> {
  const expects = `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`;
  return spec('choice', def, doc, opts.old, opts.nullable === true, expects, (v) => {
    const found = choices.find((c) => c === v || (typeof c === 'number' && toNumber(v) === c));
    if (found !== undefined) return ok(found);
    const near = typeof v === 'string' ? nearest(v, choices.filter((c): c is string => typeof c === 'string'), 3) : undefined;
    return no(near === undefined ? undefined : `Did you mean ${JSON.stringify(near)}?`);
  });
}

// Serializer names Celery users write. celeriac ships json, msgpack and yaml; the others may be registered by the
// user (bson, auth) or appear in shared Python configs (pickle), so they are never reported as typos.
const SERIALIZERS = ['json', 'msgpack', 'yaml', 'pickle', 'bson', 'auth'];
const CONTENT_TYPES = ['application/json', 'application/x-msgpack', 'application/x-yaml', 'application/x-python-serialize', 'application/data', 'application/text'];
const SERIALIZER_NAME = /^[\w.+/-]+$/;

/** Custom names pass (the registry is checked when a message is sent); near misses of known ones do not. */

function serializerName(v: unknown, known: readonly string[]): Checked<string> {
  if (typeof v !== 'string' || !SERIALIZER_NAME.test(v)) return no();
  if (known.includes(v)) return ok(v);
  const near = nearest(v, known, 3);
  return near === undefined ? ok(v) : no(`Did you mean ${JSON.stringify(near)}?`);
}

/** The serializer used to write messages or results. */
export function serializer<const O extends string = never>(def: string, doc: string, opts: { old?: readonly O[] } = {}): SettingSpec<string, O> {
  return spec('serializer', def, doc, opts.old, false, 'a serializer name: json, msgpack, yaml, or one added with registerSerializer()', (v) =>
    v === 'pickle' ? no('celeriac never writes pickle (it cannot be read safely): use json.') : serializerName(v, SERIALIZERS));
}

/** A list of serializer names or content types a reader accepts. */
export function serializers<D extends readonly string[] | null, const O extends string = never>(
  def: D, doc: string, opts: { old?: readonly O[] } = {},
): SettingSpec<Value<string[], D, false>, O> {
  const known = [...SERIALIZERS, ...CONTENT_TYPES];
  return spec('serializers', def, doc, opts.old, false, 'a list of serializer names or content types, e.g. ["json"] or ["application/json"]', (v) => {
    const items = stringList(v);
    if (!items) return no();
    for (const item of items) {
      const checked = serializerName(item, known);
      if (!checked.ok) return no(checked.hint === undefined ? `${JSON.stringify(item)} is not a name.` : `For ${JSON.stringify(item)}: ${checked.hint}`);
    }
    return ok(items);
  });
}

const COMPRESSIONS = ['gzip', 'zlib', 'brotli', 'bzip2', 'lzma', 'zstd', 'application/x-gzip', 'application/x-brotli', 'application/x-bz2', 'application/x-lzma', 'application/zstd'];

/** A compression method name (gzip, zlib, brotli, or a registered one), or null for none. */
export function compression<const O extends string = never>(doc: string, opts: { old?: readonly O[] } = {}): SettingSpec<string | null, O> {
  return spec('compression', null, doc, opts.old, true, 'a compression name such as "gzip" or "brotli"', (v) => serializerName(v, COMPRESSIONS));
}

/** broker_url and friends: a URL, a `;`-separated failover list, or an array of URLs. */
export function brokerUrl<const O extends string = never>(doc: string, opts: { old?: readonly O[] } = {}): SettingSpec<string | string[] | null, O> {
  return spec('broker-url', null, doc, opts.old, true, 'a URL such as redis://localhost:6379/0, or a list of them for failover', (v) => {
    const urls = typeof v === 'string' ? [v] : Array.isArray(v) && v.length > 0 && v.every((u) => typeof u === 'string') ? (v as string[]) : undefined;
    if (!urls) return no();
    const problem = urlProblem(typeof v === 'string' ? v : urls);
    return problem === undefined ? ok(typeof v === 'string' ? v : [...urls]) : no(problem);
  });
}

const BACKEND_ALIAS = /^[a-z][a-z0-9+._-]*$/i;

/** result_backend: a URL, or a bare backend alias as Celery allows ('rpc', 'disabled', 'cache' …). */
export function backendUrl<const O extends string = never>(doc: string, opts: { old?: readonly O[] } = {}): SettingSpec<string | null, O> {
  return spec('backend-url', null, doc, opts.old, true, 'a URL such as redis://localhost:6379/1 or rpc://', (v) => {
    if (typeof v !== 'string') return no();
    if (BACKEND_ALIAS.test(v)) return ok(v);
    const problem = urlProblem(v);
    return problem === undefined ? ok(v) : no(problem);
  });
}

const RATE = /^\s*\d+(\.\d+)?\s*(\/\s*[smh])?\s*$/;

/** A rate limit: '10/s', '100/m', '1000/h', or tasks per second as a number. */
export function rate<const O extends string = never>(doc: string, opts: { old?: readonly O[] } = {}): SettingSpec<string | number | null, O> {
  return spec('rate', null, doc, opts.old, true, 'a rate such as "10/s", "100/m" or "1000/h", or tasks per second as a number', (v) =>
    (typeof v === 'number' && Number.isFinite(v) && v >= 0) || (typeof v === 'string' && RATE.test(v)) ? ok(v) : no());
}

/** An IANA time zone name, checked against the zones this Node knows. */
export function timezone<const O extends string = never>(doc: string, opts: { old?: readonly O[] } = {}): SettingSpec<string | null, O> {
  return spec('timezone', null, doc, opts.old, true, 'an IANA time zone name such as "Europe/London" or "UTC"', (v) => {
    if (typeof v !== 'string' || v === '') return no();
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: v });
      return ok(v);
    } catch {
      return no();
    }
  });
}

/**
 * Damerau–Levenshtein distance (optimal string alignment), so a swapped pair such as 'jsno' counts as one typo.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The candidate closest to `word` (case-insensitive) if it is close enough to be a typo: one edit from `minLength`
 * characters on, two from ten; shorter words count only a case slip. An exact match returns undefined.
 * Exported for name suggestions elsewhere in config.
 */
export function nearest(word: string, candidates: readonly string[], minLength = 4): string | undefined {
  if (candidates.includes(word)) return undefined;
  const w = word.toLowerCase();
  // Setting keys keep the default 4: many short custom names are one edit away from something.
  const budget = w.length < minLength ? 0 : w.length < 10 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= budget ? best : undefined;
}

/**
 * Whether celeriac honours a setting. `applied`: read and acted on. `accepted`: Celery's name, with no effect in
 * celeriac by design (setting it logs a warning saying why). `planned`: not acted on yet (setting it logs a
 * warning too). A unit test checks that every applied row is read outside the table, and no other row is.
 */
export type SettingStatus =
  | { readonly status: 'applied' }
  | { readonly status: 'accepted' | 'planned'; readonly why: string };

/** A status for every row of one namespace table. */
export type StatusOf<T> = { readonly [K in keyof T]: SettingStatus };

/** The row is read and acted on. */
export const APPLIED: SettingStatus = Object.freeze({ status: 'applied' });

/** Celery's name with no effect in celeriac by design; `why` completes "has no effect in celeriac: …". */
export const accepted = (why: string): SettingStatus => Object.freeze({ status: 'accepted', why });

/** Not acted on yet; `why` completes "is not applied by celeriac yet: …" with what happens instead. */
export const planned = (why: string): SettingStatus => Object.freeze({ status: 'planned', why });

/** The reason of the daemonizing settings (uid, gid, umask, executable). */
export const NO_DAEMON = 'celeriac does not daemonize: run it under systemd, a container or a supervisor';

/** The reason of settings naming a Python class to load. */
export const PYTHON_CLASS = "it names a Python class; celeriac's components are fixed (extend through registerTransport/registerBackend)";
