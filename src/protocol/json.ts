// JSON as Python's peer writes and reads it, without changing a value: integers beyond 2^53 stay exact (bigint),
// bytes are refused as kombu 5.2 refuses them. V8's JSON.parse/stringify on the fast path; lossless-json only when
// a long number or a bigint is there. Values a kombu 5.3+ peer wraps as {"__type__", "__value__"} are read back as a
// 5.2 peer sends them (reviveKombuTypes).

import { isInteger, parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { EncodeError } from '../errors.js';

// Sixteen digits in a row may be an integer past 2^53 (9007199254740993 has 16); shorter runs never are.
const LONG_DIGITS = /\d{16}/;

/**
 * Parse JSON text. Integers past 2^53 in magnitude, where a double no longer holds every integer (e.g. Python's
 * 2**63-1), become bigint; every other number is a number, exactly as JSON.parse reads it. Keys such as `__proto__` are own properties.
 * Throws SyntaxError on malformed text.
 */
export function parseJson(text: string): unknown {
  return LONG_DIGITS.test(text) ? parseLossless(text, null, parseNumber) : JSON.parse(text);
}

/**
 * JSON text of a value as Python's json would read it back: a bigint is written as an integer literal.
 * Throws EncodeError for bytes (Buffer, Uint8Array, any ArrayBuffer view), Map and Set, which JSON would silently
 * turn into something else; say what to send instead.
 */
export function stringifyJson(value: unknown): string {
  // Plain data (what results, envelopes and most arguments are) cannot hold what the replacer refuses or rewrites:
  // V8's replacer-free stringify, about twice as fast, writes the same text.
  if (plainData(value, 0)) return JSON.stringify(value);
  try {
    return JSON.stringify(value, refuseBigintOrChanged);
  } catch (error) {
    if (error !== SAW_BIGINT) throw error;
    return stringifyLossless(value, refuseChanged) ?? 'null';
  }
}

const SAW_BIGINT = Symbol('bigint');

/** Deeper values (or cycles) take the careful path, which reports them as before. */
const PLAIN_DEPTH = 64;

/**
 * True when `value` holds only strings, numbers, booleans, null, undefined, functions, symbols, arrays, Dates and
 * plain objects (prototype Object.prototype or null) without a toJSON of their own, no deeper than PLAIN_DEPTH: no
 * bigint, bytes, Map, Set, class instance or custom toJSON, so the replacer would change nothing.
 */
function plainData(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return typeof value !== 'bigint';
  if (depth >= PLAIN_DEPTH) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype || (value as { toJSON?: unknown }).toJSON !== undefined) return false;
    for (let i = 0; i < value.length; i++) if (!plainData(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Date.prototype) return (value as { toJSON?: unknown }).toJSON === DATE_TO_JSON;
  if ((proto !== Object.prototype && proto !== null) || (value as { toJSON?: unknown }).toJSON !== undefined) return false;
  for (const key in value) if (!plainData((value as Record<string, unknown>)[key], depth + 1)) return false;
  return true;
}

const DATE_TO_JSON = Date.prototype.toJSON;

// Past 2^53 a double skips integers. msgpackr's int64AsType 'auto' draws the line at the same place (±2^53 exactly
// is still a number), so json and msgpack agree on which integers become bigint.
const EXACT = 2n ** 53n;

function parseNumber(text: string): number | bigint {
  if (!isInteger(text)) return Number(text);
  const n = BigInt(text);
  return n > EXACT || n < -EXACT ? n : Number(text);
}

// The fast pass: V8 cannot write a bigint, so the first one sends the value to lossless-json instead.
function refuseBigintOrChanged(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'bigint') throw SAW_BIGINT;
  return refuseChanged.call(this, key, value);
}

// JSON.stringify hands the replacer a Buffer already turned into {type:'Buffer',data} by Buffer#toJSON, so the
// holder's own property tells the two apart. lossless-json hands it the raw value.
function refuseChanged(this: unknown, key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || ((value as { type?: unknown }).type === 'Buffer' && Buffer.isBuffer((this as Record<string, unknown>)[key]))) {
    throw new EncodeError(
      `Cannot send bytes as json${at(key)}: JSON has no bytes, and Celery 5.2's json refuses them too (kombu EncodeError). ` +
        "Use serializer 'msgpack' (bytes travel as bytes), or send text such as base64.",
    );
  }
  if (value instanceof Map || value instanceof Set) {
    throw new EncodeError(`Cannot send a ${value instanceof Map ? 'Map' : 'Set'} as json${at(key)}: it would arrive as {}. Send a plain object or an array.`);
  }
  return value;
}

function at(key: string): string {
  return key === '' ? '' : ` (under key ${JSON.stringify(key)})`;
}

/**
 * Values a kombu 5.3+ peer wraps as `{"__type__": t, "__value__": v}` under json, read back as the value Celery 5.2
 * (which sends them plain) would have sent: bytes/base64 → Buffer; datetime → its ISO text (+00:00 written Z); date →
 * its midnight (2026-01-01T00:00:00); time and decimal → their text; uuid → its canonical text. Other objects, and markers with an unknown type, are kept as they are. Walks `value` in place.
 */
export function reviveKombuTypes(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveKombuTypes(value[i]);
    return value;
  }
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 2 && Object.hasOwn(object, '__type__') && Object.hasOwn(object, '__value__')) {
    const revived = reviveMarker(object.__type__, object.__value__);
    if (revived !== undefined) return revived;
  }
  for (const key of keys) object[key] = reviveKombuTypes(object[key]);
  return object;
}

function reviveMarker(type: unknown, v: unknown): unknown {
  if (type === 'uuid' && typeof v === 'object' && v !== null && typeof (v as { hex?: unknown }).hex === 'string') {
    const hex = (v as { hex: string }).hex;
    if (/^[0-9a-f]{32}$/i.test(hex)) return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toLowerCase();
  }
  if (typeof v !== 'string') return undefined;
  switch (type) {
    case 'bytes':
      return Buffer.from(v, 'utf8');
    case 'base64':
      return Buffer.from(v, 'base64');
    case 'datetime':
      return v.endsWith('+00:00') ? `${v.slice(0, -6)}Z` : v;
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00` : v;
    case 'time':
    case 'decimal':
      return v;
    default:
      return undefined;
  }
}
