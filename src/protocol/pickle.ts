// A safe pickle codec for plain data only: the `result` column of Celery's database backend (SQL-WIRE.md §2).
// Reads protocols 0–5 for None/bool/int/float/str/bytes/list/tuple/dict/set; refuses every opcode that names,
// builds or calls a Python object (GLOBAL, REDUCE, BUILD, …), so decoding can never run code. Pure: no I/O.
// Writing: pickle-writer.ts.

import { EncodeError, UnsupportedEncoding } from '../errors.js';
import { checkExpansion, type ExpansionLimits } from './expansion.js';

/*
 * Value mapping (both directions):
 *   None ↔ null (undefined is written as None)      bool ↔ boolean
 *   int ↔ number (safe integers) or bigint (larger)  float ↔ number (non-integral, NaN, ±Infinity)
 *   str ↔ string                                      bytes/bytearray ↔ Buffer (Uint8Array is written as bytes)
 *   list, tuple → array (array → list)                dict ↔ plain object (non-string keys become their text)
 *   set, frozenset → array (a JS Set is written as set)
 * A Date is written as its ISO text (as Celery's JSON does); an object with toJSON() is written as toJSON()'s result.
 */

/** Opcodes that refer to Python objects or out-of-band data: never accepted. */
const REFUSED: Readonly<Record<number, string>> = {
  0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x62: 'BUILD', 0x69: 'INST', 0x6f: 'OBJ',
  0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const MARK = Symbol('mark');
type Stack = unknown[];

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  byte(): number {
    if (this.pos >= this.buf.length) throw truncated();
    return this.buf[this.pos++]!;
  }
  bytes(n: number | bigint): Buffer {
    const len = Number(n);
    if (!Number.isSafeInteger(len) || len < 0 || this.pos + len > this.buf.length) throw truncated();
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  /** `n` bytes as text, without an intermediate view. */
  text(n: number | bigint, encoding: 'utf8' | 'latin1'): string {
    const len = Number(n);
    if (!Number.isSafeInteger(len) || len < 0 || this.pos + len > this.buf.length) throw truncated();
    const out = this.buf.toString(encoding, this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  u16(): number {
    return this.bytes(2).readUInt16LE(0);
  }
  u32(): number {
    return this.bytes(4).readUInt32LE(0);
  }
  i32(): number {
    return this.bytes(4).readInt32LE(0);
  }
  u64(): bigint {
    return this.bytes(8).readBigUInt64LE(0);
  }
  line(): string {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0) throw truncated();
    const text = this.buf.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return text;
  }
}

function truncated(): UnsupportedEncoding {
  return new UnsupportedEncoding('Pickled data is truncated or corrupt (no STOP opcode before the end).');
}

function bad(what: string): UnsupportedEncoding {
  return new UnsupportedEncoding(`Pickled data is corrupt: ${what}.`);
}

/** A bigint as a number when that is exact, else the bigint. */
function intValue(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** Two's-complement little-endian (LONG1/LONG4). */
function decodeLong(bytes: Buffer): number | bigint {
  if (bytes.length === 0) return 0;
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) n -= 1n << BigInt(bytes.length * 8);
  return intValue(n);
}

function parseIntText(text: string): number | bigint {
  const t = text.trim().replace(/L$/, '');
  if (!/^[+-]?\d+$/.test(t)) throw bad(`'${text}' is not an integer`);
  return intValue(BigInt(t));
}

/** Python 2 `repr()` of a str, as protocol 0's STRING writes it. */
function parseQuoted(text: string): Buffer {
  const t = text.trim();
  const q = t[0];
  if ((q !== "'" && q !== '"') || t[t.length - 1] !== q || t.length < 2) throw bad('STRING argument is not quoted');
  return unescapeBytes(t.slice(1, -1));
}

function unescapeBytes(s: string): Buffer {
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out.push(s.charCodeAt(i) & 0xff);
      continue;
    }
    const n = s[++i];
    if (n === 'x') {
      out.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (n !== undefined && /[0-7]/.test(n) && /[0-7]/.test(s[i + 1] ?? '')) {
      const m = /^[0-7]{1,3}/.exec(s.slice(i))![0];
      out.push(Number.parseInt(m, 8) & 0xff);
      i += m.length - 1;
    } else if (n !== undefined && n in simple) {
      out.push(simple[n]!);
    } else {
      out.push(92);
      if (n !== undefined) out.push(n.charCodeAt(0) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** raw-unicode-escape (protocol 0's UNICODE): latin-1 text with \uXXXX and \UXXXXXXXX escapes. */
function rawUnicodeEscape(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u: string | undefined, U: string | undefined) =>
    String.fromCodePoint(Number.parseInt(u ?? U!, 16)));
}

/** What is left of a pickle's expansion budget (values reached through dict keys turned into text). */
interface Budget { left: number }

function dictKey(key: unknown, budget: Budget): string {
  if (typeof key === 'string') return key;
  if (key === null) return 'null';
  if (typeof key === 'number' || typeof key === 'bigint' || typeof key === 'boolean') return String(key);
  if (Buffer.isBuffer(key)) return key.toString('utf8');
  if (Array.isArray(key)) {
    budget.left -= checkExpansion(key, { maxValues: budget.left, maxDepth: MAX_DEPTH }, 'A tuple dict key in the pickle');
    return JSON.stringify(key, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
  throw bad('a dict key is not hashable plain data');
}

function setItem(target: unknown, key: unknown, value: unknown, budget: Budget): void {
  if (typeof target !== 'object' || target === null || Array.isArray(target) || Buffer.isBuffer(target)) throw bad('SETITEM on something that is not a dict');
  const name = dictKey(key, budget);
  // A plain assignment of '__proto__' would set the prototype: define that one key as an own property instead.
  if (name === '__proto__') Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else (target as Record<string, unknown>)[name] = value;
}

function popMark(stack: Stack): unknown[] {
  const at = stack.lastIndexOf(MARK);
  if (at < 0) throw bad('no MARK on the stack');
  const items = stack.slice(at + 1);
  stack.length = at;
  return items;
}

function pop(stack: Stack): unknown {
  if (stack.length === 0 || stack[stack.length - 1] === MARK) throw bad('stack underflow');
  return stack.pop();
}

function top(stack: Stack): unknown {
  if (stack.length === 0) throw bad('stack underflow');
  return stack[stack.length - 1];
}

/** Deepest nesting read from a pickle: Python's own pickler stops near 1,000 (its recursion limit). */
const MAX_DEPTH = 2000;

/**
 * A pickle of n bytes may expand (shared memo references followed) to 1,000,000 + 64·n values: one byte per value
 * is the most a plain pickle spends, so only sharing on a large scale (a memo bomb) goes past it.
 */
function expansionLimits(byteLength: number): ExpansionLimits {
  return { maxValues: 1_000_000 + 64 * byteLength, maxDepth: MAX_DEPTH };
}

/**
 * Decode a pickle holding plain data only (protocols 0–5). Any opcode that names or calls a Python object, and any
 * opcode this codec does not know, throws UnsupportedEncoding: the bytes are never executed. A value that expands
 * past expansionLimits (a memo bomb, a cycle) or nests deeper than 2,000 throws DecodeError.
 */
export function pickleLoads(bytes: Uint8Array): unknown {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const stack: Stack = [];
  const memo = new Map<number, unknown>();
  const limits = expansionLimits(bytes.byteLength);
  const budget: Budget = { left: limits.maxValues };
  for (;;) {
    const op = r.byte();
    switch (op) {
      case 0x80: // PROTO
        if (r.byte() > 5) throw new UnsupportedEncoding('Pickle protocol newer than 5 is not supported.');
        break;
      case 0x95: // FRAME: framing is only a read-ahead hint
        r.bytes(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) throw bad(`${stack.length} values left on the stack at STOP`);
        checkExpansion(stack[0], limits, 'The pickled value');
        return stack[0];
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x49: { // INT (protocol 0): 01/00 are True/False
        const text = r.line();
        stack.push(text === '01' ? true : text === '00' ? false : parseIntText(text));
        break;
      }
      case 0x4c: stack.push(parseIntText(r.line())); break; // LONG
      case 0x4a: stack.push(r.i32()); break; // BININT
      case 0x4b: stack.push(r.byte()); break; // BININT1
      case 0x4d: stack.push(r.u16()); break; // BININT2
      case 0x8a: stack.push(decodeLong(r.bytes(r.byte()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = r.i32();
        if (n < 0) throw bad('negative LONG4 length');
        stack.push(decodeLong(r.bytes(n)));
        break;
      }
      case 0x46: { // FLOAT
        const text = r.line().trim();
        const v = text === 'nan' ? NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text);
        if (Number.isNaN(v) && text !== 'nan') throw bad(`'${text}' is not a float`);
        stack.push(v);
        break;
      }
      case 0x47: stack.push(r.bytes(8).readDoubleBE(0)); break; // BINFLOAT
      // Python 2 str (STRING family): Python 3 reads them as ASCII text by default; latin-1 is the lossless superset.
      case 0x53: stack.push(parseQuoted(r.line()).toString('latin1')); break; // STRING
      case 0x54: stack.push(r.text(r.i32(), 'latin1')); break; // BINSTRING
      case 0x55: stack.push(r.text(r.byte(), 'latin1')); break; // SHORT_BINSTRING
      case 0x56: stack.push(rawUnicodeEscape(r.line())); break; // UNICODE
      case 0x58: stack.push(r.text(r.u32(), 'utf8')); break; // BINUNICODE
      case 0x8c: stack.push(r.text(r.byte(), 'utf8')); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(r.text(r.u64(), 'utf8')); break; // BINUNICODE8
      case 0x42: stack.push(Buffer.from(r.bytes(r.u32()))); break; // BINBYTES
      case 0x43: stack.push(Buffer.from(r.bytes(r.byte()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(Buffer.from(r.bytes(r.u64()))); break; // BINBYTES8
      case 0x96: stack.push(Buffer.from(r.bytes(r.u64()))); break; // BYTEARRAY8
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark(stack)); break; // LIST
      case 0x61: { // APPEND
        const v = pop(stack);
        const list = top(stack);
        if (!Array.isArray(list)) throw bad('APPEND to something that is not a list');
        list.push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark(stack);
        const list = top(stack);
        if (!Array.isArray(list)) throw bad('APPENDS to something that is not a list');
        for (const item of items) list.push(item);
        break;
      }
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark(stack)); break; // TUPLE
      case 0x85: stack.push([pop(stack)]); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop(stack);
        stack.push([pop(stack), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop(stack);
        const b = pop(stack);
        stack.push([pop(stack), b, c]);
        break;
      }
      case 0x7d: stack.push({}); break; // EMPTY_DICT
      case 0x64: { // DICT
        const items = popMark(stack);
        const d = {};
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i], items[i + 1], budget);
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop(stack);
        const k = pop(stack);
        setItem(top(stack), k, v, budget);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark(stack);
        if (items.length % 2) throw bad('SETITEMS with an odd number of items');
        const d = top(stack);
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1], budget);
        break;
      }
      case 0x8f: stack.push([]); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark(stack);
        const s = top(stack);
        if (!Array.isArray(s)) throw bad('ADDITEMS to something that is not a set');
        for (const item of items) s.push(item);
        break;
      }
      case 0x91: stack.push(popMark(stack)); break; // FROZENSET
      case 0x28: stack.push(MARK); break; // MARK
      case 0x30: pop(stack); break; // POP
      case 0x31: popMark(stack); break; // POP_MARK
      case 0x32: stack.push(top(stack)); break; // DUP
      case 0x70: memo.set(Number(parseIntText(r.line())), top(stack)); break; // PUT
      case 0x71: memo.set(r.byte(), top(stack)); break; // BINPUT
      case 0x72: memo.set(r.u32(), top(stack)); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top(stack)); break; // MEMOIZE
      case 0x67: stack.push(memoGet(memo, Number(parseIntText(r.line())))); break; // GET
      case 0x68: stack.push(memoGet(memo, r.byte())); break; // BINGET
      case 0x6a: stack.push(memoGet(memo, r.u32())); break; // LONG_BINGET
      default: {
        const name = REFUSED[op];
        if (name) {
          throw new UnsupportedEncoding(`Unsupported result encoding: the pickle uses ${name}, which names or builds a Python object. celeriac reads only plain data (None, bool, int, float, str, bytes, list, tuple, dict, set) from pickles and never runs pickled code; have the task return plain data.`);
        }
        throw new UnsupportedEncoding(`Unsupported result encoding: unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${r.pos - 1}.`);
      }
    }
  }
}

function memoGet(memo: Map<number, unknown>, index: number): unknown {
  if (!memo.has(index)) throw bad(`memo entry ${index} is missing`);
  return memo.get(index);
}
