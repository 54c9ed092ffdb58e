// The writing half of the safe pickle codec (pickle.ts reads): plain data as protocol 2 pickles, for the `result`
// column of Celery's database backend (SQL-WIRE.md §2). Values that are not plain data (a function, a cycle, too
// deep) are refused with EncodeError. Pure: no I/O.

import { EncodeError } from '../errors.js';

/*
 * Value mapping (both directions):
 *   None ↔ null (undefined is written as None)      bool ↔ boolean
 *   int ↔ number (safe integers) or bigint (larger)  float ↔ number (non-integral, NaN, ±Infinity)
 *   str ↔ string                                      bytes/bytearray ↔ Buffer (Uint8Array is written as bytes)
 *   list, tuple → array (array → list)                dict ↔ plain object (non-string keys become their text)
 *   set, frozenset → array (a JS Set is written as set)
 * A Date is written as its ISO text (as Celery's JSON does); an object with toJSON() is written as toJSON()'s result.
 */

/** Items per APPENDS/SETITEMS/ADDITEMS, as Python's pickler batches them (keeps every reader's stack small). */
const BATCH = 1000;

/** A growing byte buffer: one allocation per doubling instead of one small Buffer per opcode. */
class Writer {
  private buf = Buffer.allocUnsafe(256);
  private len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(a: number, b?: number): void {
    this.room(2);
    this.buf[this.len++] = a;
    if (b !== undefined) this.buf[this.len++] = b;
  }
  u16(n: number): void {
    this.room(2);
    this.len = this.buf.writeUInt16LE(n, this.len);
  }
  i32(n: number): void {
    this.room(4);
    this.len = this.buf.writeInt32LE(n, this.len);
  }
  u32(n: number): void {
    this.room(4);
    this.len = this.buf.writeUInt32LE(n, this.len);
  }
  u64(n: number): void {
    this.room(8);
    this.len = this.buf.writeBigUInt64LE(BigInt(n), this.len);
  }
  f64(n: number): void {
    this.room(8);
    this.len = this.buf.writeDoubleBE(n, this.len);
  }
  data(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
  text(s: string, small: number, large: number, huge: number): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.size(n, small, large, huge);
    this.room(n);
    this.len += this.buf.write(s, this.len, 'utf8');
  }
  size(n: number, small: number, large: number, huge: number): void {
    if (n < 256) this.u8(small, n);
    else if (n < 2 ** 32) {
      this.u8(large);
      this.u32(n);
    } else {
      this.u8(huge);
      this.u64(n);
    }
  }
  done(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * Encode plain data as a protocol-4 pickle (without frames, which are optional) that Python's pickle.loads reads.
 * Lists, sets and dicts go out in batches of 1000 items, as Python writes them. Throws EncodeError for values
 * that are not plain data (functions, symbols, cycles) or nest too deep to write.
 */
export function pickleDumps(value: unknown): Buffer {
  const out = new Writer();
  out.u8(0x80, 4);
  try {
    write(value, out, new Set());
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new EncodeError(`Cannot store a result nested this deep in a pickled result (${error.message}); return flatter data.`, { cause: error });
  }
  out.u8(0x2e);
  return out.done();
}

function writeSafeInt(n: number, out: Writer): void {
  if (n >= 0 && n < 256) return out.u8(0x4b, n);
  if (n >= 0 && n < 65536) {
    out.u8(0x4d);
    return out.u16(n);
  }
  if (n >= -(2 ** 31) && n < 2 ** 31) {
    out.u8(0x4a);
    return out.i32(n);
  }
  writeInt(BigInt(n), out);
}

function writeInt(n: bigint, out: Writer): void {
  if (n >= -(2n ** 31n) && n < 2n ** 31n) return writeSafeInt(Number(n), out);
  // LONG1/LONG4: minimal two's-complement little-endian.
  const bytes: number[] = [];
  let v = n;
  for (;;) {
    bytes.push(Number(v & 0xffn));
    v >>= 8n;
    const sign = bytes[bytes.length - 1]! & 0x80;
    if ((v === 0n && !sign) || (v === -1n && sign)) break;
  }
  if (bytes.length < 256) out.u8(0x8a, bytes.length);
  else {
    out.u8(0x8b);
    out.i32(bytes.length);
  }
  out.data(Buffer.from(bytes));
}

/** `items` between MARK and `opcode`, BATCH at a time. */
function writeBatches<T>(items: Iterable<T>, opcode: number, out: Writer, each: (item: T) => void): void {
  let n = 0;
  for (const item of items) {
    if (n === 0) out.u8(0x28);
    each(item);
    if (++n === BATCH) {
      out.u8(opcode);
      n = 0;
    }
  }
  if (n > 0) out.u8(opcode);
}

function write(value: unknown, out: Writer, seen: Set<object>): void {
  if (value === null || value === undefined) return out.u8(0x4e);
  switch (typeof value) {
    case 'boolean':
      return out.u8(value ? 0x88 : 0x89);
    case 'bigint':
      return writeInt(value, out);
    case 'number':
      if (Number.isSafeInteger(value)) return writeSafeInt(value, out);
      out.u8(0x47);
      return out.f64(value);
    case 'string':
      return out.text(value, 0x8c, 0x58, 0x8d);
    case 'object':
      break;
    default:
      throw new EncodeError(`Cannot store a ${typeof value} in a pickled result: only plain data (null, boolean, number, bigint, string, bytes, arrays, sets and plain objects) can be stored.`);
  }
  const obj = value as object;
  if (obj instanceof Uint8Array) {
    out.size(obj.byteLength, 0x43, 0x42, 0x8e);
    return out.data(obj);
  }
  if (obj instanceof Date) return write(Number.isNaN(obj.getTime()) ? null : obj.toISOString(), out, seen);
  if (seen.has(obj)) throw new EncodeError('Cannot store a result that refers to itself (a cycle) in a pickled result.');
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      out.u8(0x5d);
      return writeBatches(obj, 0x65, out, (item) => write(item, out, seen));
    }
    if (obj instanceof Set) {
      out.u8(0x8f);
      return writeBatches(obj, 0x90, out, (item) => write(item, out, seen));
    }
    if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
      return write((obj as { toJSON(): unknown }).toJSON(), out, seen);
    }
    out.u8(0x7d);
    const entries: Iterable<[unknown, unknown]> = obj instanceof Map ? obj.entries() : Object.entries(obj);
    writeBatches(entries, 0x75, out, ([k, v]) => {
      write(k, out, seen);
      write(v, out, seen);
    });
  } finally {
    seen.delete(obj);
  }
}
