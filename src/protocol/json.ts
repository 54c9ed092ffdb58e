// JSON as Python's peer writes and reads it, without changing a value: integers beyond 2^53 stay exact (bigint),
// bytes are refused as kombu 5.2 refuses them. V8's JSON.parse/stringify on the fast path; lossless-json only when
// a long number or a bigint is there.

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
  try {
    return JSON.stringify(value, refuseBigintOrChanged);
  } catch (error) {
    if (error !== SAW_BIGINT) throw error;
    return stringifyLossless(value, refuseChanged) ?? 'null';
  }
}

const SAW_BIGINT = Symbol('bigint');

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
