import { describe, expect, it } from 'vitest';
import { EncodeError } from '../../../src/errors.js';
import { parseJson, stringifyJson } from '../../../src/protocol/json.js';
import { acceptSet, decode, encode } from '../../../src/protocol/serializers.js';

// Values exactly as Python's peer holds them: integers past 2^53, bytes, keys such as __proto__.
// The byte strings below were written by Debian's Python 3 (json.dumps, msgpack.packb(use_bin_type=True)).

const accept = acceptSet(['json', 'msgpack']);
const PY_JSON = '[9223372036854775807, -9223372036854775808, 18446744073709551615, 1000000000000000000000000000000, 9007199254740992, 9007199254740993, 0.30000000000000004, {"__proto__": {"polluted": 1}}]';
const PY_MSGPACK = Buffer.from(
  '96cf7fffffffffffffffd38000000000000000cfffffffffffffffffcf0020000000000000cf002000000000000182a95f5f70726f746f5f5f81a8706f6c6c7574656401ab636f6e7374727563746f7202',
  'hex',
);

describe('json: integers past 2^53 stay exact', () => {
  it('reads what Python wrote: bigint past 2^53, numbers up to it, floats as JSON.parse reads them', () => {
    const v = decode({ body: Buffer.from(PY_JSON), contentType: 'application/json' }, accept) as unknown[];
    expect(v.slice(0, 7)).toEqual([2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 10n ** 30n, 2 ** 53, 2n ** 53n + 1n, 0.30000000000000004]);
    expect(typeof v[4]).toBe('number');
  });

  it('writes bigint as an integer literal Python reads back as the same int', () => {
    const text = stringifyJson([2n ** 63n - 1n, { n: -(10n ** 30n) }, 1.5, 'x']);
    expect(text).toBe('[9223372036854775807,{"n":-1000000000000000000000000000000},1.5,"x"]');
    expect(parseJson(text)).toEqual([2n ** 63n - 1n, { n: -(10n ** 30n) }, 1.5, 'x']);
  });

  it('leaves long digit runs inside strings alone and agrees with JSON.parse on ordinary input', () => {
    const text = '{"phone":"12345678901234567890","t":1767225600.123456,"ids":[1,2,3],"f":1e300,"neg":-0.5}';
    expect(parseJson(text)).toEqual(JSON.parse(text));
    expect(parseJson('[123456789012345]')).toEqual([123456789012345]);
  });

  it('keeps Date as ISO text (kombu 5.2 writes datetime the same way) and undefined as JSON does', () => {
    expect(stringifyJson({ at: new Date(Date.UTC(2026, 0, 1)), gone: undefined, list: [undefined] })).toBe('{"at":"2026-01-01T00:00:00.000Z","list":[null]}');
    expect(stringifyJson({ at: new Date(Date.UTC(2026, 0, 1)), big: 1n })).toBe('{"at":"2026-01-01T00:00:00.000Z","big":1}');
  });
});

describe('json: bytes and other values JSON would change are refused (kombu 5.2 raises EncodeError)', () => {
  it.each([
    ['a Buffer', { data: Buffer.from('hi') }],
    ['a Uint8Array', { data: new Uint8Array([0xff, 0xfe]) }],
    ['a Float64Array', { data: new Float64Array([1.5]) }],
    ['an ArrayBuffer', { data: new ArrayBuffer(2) }],
    ['a Buffer next to a bigint', { data: Buffer.from('hi'), n: 2n ** 64n }],
  ])('%s → EncodeError naming the key, no {"type":"Buffer"} and no U+FFFD', (_label, value) => {
    expect(() => encode([[value], {}, {}], 'json')).toThrow(EncodeError);
    expect(() => stringifyJson(value)).toThrow(/Cannot send bytes as json \(under key "data"\).*msgpack/);
  });

  it.each([[new Map([['a', 1]])], [new Set([1])]])('%s → EncodeError instead of {}', (value) => {
    expect(() => stringifyJson([value])).toThrow(EncodeError);
  });
});

describe('msgpack: integers and keys round-trip', () => {
  it('reads what Python wrote: 64-bit integers exact, __proto__ an own key, no prototype touched', () => {
    const v = decode({ body: PY_MSGPACK, contentType: 'application/x-msgpack' }, accept) as unknown[];
    expect(v.slice(0, 5)).toEqual([2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2 ** 53, 2n ** 53n + 1n]);
    const map = v[5] as Record<string, unknown>;
    expect(Object.keys(map)).toEqual(['__proto__', 'constructor']);
    expect(map.__proto__).toEqual({ polluted: 1 });
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    expect((map as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('writes bigint and a __proto__ key so they come back the same', () => {
    const value = parseJson('{"__proto__": {"x": 1}, "n": 1}') as Record<string, unknown>;
    value.big = 2n ** 63n - 1n;
    const back = decode(encode(value, 'msgpack'), accept) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(['__proto__', 'n', 'big']);
    expect(back.big).toBe(2n ** 63n - 1n);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ x: 1 });
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('refuses an integer past 64 bits (Python\'s msgpack cannot hold it either) and keeps bytes as bytes', () => {
    expect(() => encode([10n ** 30n], 'msgpack')).toThrow(EncodeError);
    const back = decode(encode([Buffer.from([0, 255])], 'msgpack'), accept) as unknown[];
    expect(Buffer.from(back[0] as Uint8Array)).toEqual(Buffer.from([0, 255]));
  });
});

describe('json: __proto__ keys', () => {
  it('are own properties on both the fast and the lossless path', () => {
    for (const text of ['{"__proto__": {"polluted": 1}}', '{"__proto__": {"polluted": 1}, "n": 12345678901234567890}']) {
      const v = parseJson(text) as Record<string, unknown>;
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
      expect(Object.keys(v)[0]).toBe('__proto__');
      expect((v as { polluted?: unknown }).polluted).toBeUndefined();
      expect(stringifyJson(v).startsWith('{"__proto__":{"polluted":1}')).toBe(true);
    }
  });
});

describe('json: plain data takes a replacer-free stringify that writes the same text and refuses the same values', () => {
  const deep = (depth: number, leaf: unknown): unknown => (depth === 0 ? leaf : { next: deep(depth - 1, leaf) });

  it('writes plain data (null-prototype objects, Dates, functions and symbols dropped as JSON drops them) as JSON.stringify does', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    const value = { bare, at: new Date(Date.UTC(2026, 0, 1)), fn: () => 1, sym: Symbol('s'), list: [1, 'x', null, undefined, () => 1], nested: deep(10, [true]) };
    expect(stringifyJson(value)).toBe(JSON.stringify(value));
  });

  it('refuses bytes, Map and Set wherever they hide: deep, behind a getter, behind a toJSON, in a class instance', () => {
    class Holder { data = Buffer.from('hi'); }
    const viaGetter = { get data() { return Buffer.from('hi'); } };
    for (const value of [deep(20, { data: Buffer.from('hi') }), deep(100, { data: new Uint8Array(1) }), viaGetter, { data: { toJSON: () => new Map() } }, [new Holder()], Object.assign([1], { toJSON: () => new Set([1]) })]) {
      expect(() => stringifyJson(value)).toThrow(EncodeError);
    }
  });

  it('writes a bigint exactly at any depth, keeps a custom toJSON and a Date whose toJSON was replaced, and reports a cycle as before', () => {
    expect(stringifyJson(deep(100, 2n ** 64n))).toBe(JSON.stringify(deep(100, 0)).replace('0', '18446744073709551616'));
    const at = Object.assign(new Date(0), { toJSON: () => 'then' });
    class Point { constructor(readonly x: number) {} }
    expect(stringifyJson({ at, custom: { toJSON: () => ({ ok: 1 }) }, point: new Point(2) })).toBe('{"at":"then","custom":{"ok":1},"point":{"x":2}}');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => stringifyJson(cycle)).toThrow(TypeError);
  });
});
