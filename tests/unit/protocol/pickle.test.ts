import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EncodeError, UnsupportedEncoding } from '../../../src/errors.js';
import { pickleLoads } from '../../../src/protocol/pickle.js';
import { pickleDumps } from '../../../src/protocol/pickle-writer.js';

// Bytes produced by CPython 3's pickle.dumps(value, protocol=N) (hard-coded so the test needs no Python).
const hex = (h: string) => Buffer.from(h, 'hex');
const EXC = { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' };

const PYTHON: Array<[string, string, unknown]> = [
  // protocol 5: exactly what Celery's database backend writes (SQL-WIRE.md §2)
  ['p5 int', '80054b052e', 5],
  ['p5 exception dict', '8005954c000000000000007d94288c086578635f74797065948c0a56616c75654572726f72948c0b6578635f6d657373616765948c04626f6f6d9485948c0a6578635f6d6f64756c65948c086275696c74696e7394752e', EXC],
  ['p5 bytes', '8005950800000000000000430400ff6162942e', Buffer.from([0, 0xff, 0x61, 0x62])],
  ['p5 True', '8005882e', true],
  // protocol 4
  ['p4 big int', '8004950c000000000000008a090000000000000000402e', 2n ** 70n],
  ['p4 negative big int', '8004950c000000000000008a090000000000000000ff2e', -(2n ** 64n)],
  ['p4 float', '8004950a00000000000000473ff80000000000002e', 1.5],
  ['p4 str', '8004950e000000000000008c0a68c3a96c6c6f20e29883942e', 'héllo ☃'],
  ['p4 list', '80049518000000000000005d94284b018c0161944e5d9447400400000000000061652e', [1, 'a', null, [2.5]]],
  ['p4 tuple', '80049507000000000000004b014b0286942e', [1, 2]],
  ['p4 dict', '80049515000000000000007d94288c0161944b018c0162945d9428888965752e', { a: 1, b: [true, false] }],
  ['p4 int keys', '80049511000000000000007d94284b018c0178944b028c017994752e', { 1: 'x', 2: 'y' }],
  ['p4 empties', '80049508000000000000005d94297d9487942e', [[], [], {}]],
  // protocol 2
  ['p2 int', '80024b052e', 5],
  ['p2 str', '8002580a00000068c3a96c6c6f20e2988371002e', 'héllo ☃'],
  ['p2 exception dict', '80027d71002858080000006578635f747970657101580a00000056616c75654572726f727102580b0000006578635f6d65737361676571035804000000626f6f6d7104857105580a0000006578635f6d6f64756c65710658080000006275696c74696e737107752e', EXC],
  ['p2 big int', '80028a090000000000000000402e', 2n ** 70n],
  // protocol 0 (text)
  ['p0 int', '49350a2e', 5],
  ['p0 True', '4930310a2e', true],
  ['p0 long', '4c313138303539313632303731373431313330333432344c0a2e', 2n ** 70n],
  ['p0 float', '46312e350a2e', 1.5],
  ['p0 unicode', '5668e96c6c6f205c75323630330a70300a2e', 'héllo ☃'],
  ['p0 list', '286c70300a49310a6156610a70310a614e61286c70320a46322e350a61612e', [1, 'a', null, [2.5]]],
  ['p0 dict', '286470300a56610a70310a49310a7356620a70320a286c70330a4930310a614930300a61732e', { a: 1, b: [true, false] }],
  ['p0 exception dict', '286470300a566578635f747970650a70310a5656616c75654572726f720a70320a73566578635f6d6573736167650a70330a2856626f6f6d0a70340a7470350a73566578635f6d6f64756c650a70360a566275696c74696e730a70370a732e', EXC],
];

describe('pickleLoads: plain data written by Python', () => {
  it.each(PYTHON)('%s', (_name, bytes, expected) => {
    expect(pickleLoads(hex(bytes))).toEqual(expected);
  });

  it('keeps shared references through the memo (GET)', () => {
    const v = pickleLoads(hex('8004950c000000000000005d94285d944b01616801652e')) as number[][];
    expect(v).toEqual([[1], [1]]);
    expect(v[0]).toBe(v[1]);
    const p0 = pickleLoads(hex('286c70300a286c70310a49310a616167310a612e')) as number[][];
    expect(p0[0]).toBe(p0[1]);
  });

  it('refuses opcodes that name or call Python objects', () => {
    // datetime.datetime(2020, 1, 1): SHORT_BINUNICODE…STACK_GLOBAL…REDUCE
    const datetime = hex('8004952a000000000000008c086461746574696d65948c086461746574696d65949394430a07e4010100000000000094859452942e');
    expect(() => pickleLoads(datetime)).toThrow(UnsupportedEncoding);
    expect(() => pickleLoads(datetime)).toThrow(/STACK_GLOBAL/);
    // the classic exploit shape: GLOBAL os.system + REDUCE
    const exploit = Buffer.from("cos\nsystem\n(S'echo hacked'\ntR.", 'latin1');
    expect(() => pickleLoads(exploit)).toThrow(/GLOBAL/);
    expect(() => pickleLoads(hex('80044b01'))).toThrow(/truncated/);
    expect(() => pickleLoads(hex('80044b014b022e'))).toThrow(UnsupportedEncoding);
  });
});

describe('pickleDumps', () => {
  it('writes the same small ints and dicts Python writes (without frames)', () => {
    expect(pickleDumps(5).toString('hex')).toBe('80044b052e');
    expect(pickleDumps(null).toString('hex')).toBe('80044e2e');
    expect(pickleDumps({ a: 1 }).toString('hex')).toBe('80047d28' + '8c0161' + '4b01' + '752e');
    expect(pickleDumps(-1).toString('hex')).toBe('80044affffffff2e');
  });

  it('round-trips plain data', () => {
    const values: unknown[] = [
      null, true, false, 0, 255, 256, 65535, 65536, -1, 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 2n ** 100n, -(2n ** 100n),
      1.25, -0.5, Infinity, '', 'x'.repeat(300), 'naïve ☃ 𝄞', Buffer.from('bytes'), [], [1, [2, [3]]], {},
      { nested: { list: [1, 'two', null], n: 3.5 } }, EXC,
    ];
    for (const v of values) expect(pickleLoads(pickleDumps(v))).toEqual(v);
    expect(Number.isNaN(pickleLoads(pickleDumps(NaN)))).toBe(true);
    expect(pickleLoads(pickleDumps(new Set([1, 2])))).toEqual([1, 2]);
    expect(pickleLoads(pickleDumps(undefined))).toBeNull();
    expect(pickleLoads(pickleDumps(new Date('2020-01-01T00:00:00Z')))).toBe('2020-01-01T00:00:00.000Z');
    expect(pickleLoads(pickleDumps(Array.from({ length: 1500 }, (_, i) => i)))).toHaveLength(1500);
  });

  it('reads and writes lists of 1,000,000 items (no spread of the items into one call)', () => {
    const big = Array.from({ length: 1_000_000 }, (_, i) => i);
    expect(pickleLoads(pickleDumps(big))).toEqual(big);
    // One APPENDS / ADDITEMS / SETITEMS with 200,000 items, as a pickler that does not batch would write it.
    const marked = (open: string, close: string) => Buffer.concat([hex(`8004${open}28`), Buffer.alloc(200_000 * 2, Buffer.from('4b07', 'hex')), hex(`${close}2e`)]);
    expect(pickleLoads(marked('5d', '65'))).toHaveLength(200_000);
    expect(pickleLoads(marked('8f', '90'))).toHaveLength(200_000);
    expect(pickleLoads(marked('7d', '75'))).toEqual({ 7: 7 });
  });

  it('writes long lists, sets and dicts in batches of 1000 items, as Python does', () => {
    const appends = (b: Buffer, opcode: number) => [...b].filter((x) => x === opcode).length;
    expect(appends(pickleDumps(Array.from({ length: 2500 }, () => null)), 0x65)).toBe(3);
    expect(appends(pickleDumps(new Set(Array.from({ length: 1000 }, (_, i) => `s${i}`))), 0x90)).toBe(1);
    expect(appends(pickleDumps(Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, null]))), 0x75)).toBe(2);
  });

  it('refuses values that are not plain data', () => {
    expect(() => pickleDumps(() => 1)).toThrow(EncodeError);
    expect(() => pickleDumps(Symbol('s'))).toThrow(EncodeError);
    let deep: unknown[] = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => pickleDumps(deep)).toThrow(/nested this deep/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => pickleDumps(cyclic)).toThrow(/cycle/);
  });

  const python = (() => {
    try {
      execFileSync('python3', ['-c', 'pass'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  // Only where python3 exists; the byte-level tests above hold without it.
  it.runIf(python)('writes pickles that Python loads to the same values', () => {
    const value = { int: 5, big: 2n ** 70n, neg: -7, f: 1.5, s: 'héllo ☃', b: Buffer.from([0, 255]), l: [1, [2]], none: null, t: true, set: new Set([3]) };
    const long = execFileSync('python3', ['-c', 'import pickle,sys; v=pickle.loads(bytes.fromhex(sys.argv[1])); print(len(v), v[-1], sum(v))', pickleDumps(Array.from({ length: 2500 }, (_, i) => i)).toString('hex')]);
    expect(long.toString().trim()).toBe(`2500 2499 ${(2499 * 2500) / 2}`);
    const script = 'import pickle,sys; v=pickle.loads(bytes.fromhex(sys.argv[1])); print(repr(sorted(v.items())))';
    const out = execFileSync('python3', ['-c', script, pickleDumps(value).toString('hex')]).toString().trim();
    expect(out).toBe("[('b', b'\\x00\\xff'), ('big', 1180591620717411303424), ('f', 1.5), ('int', 5), ('l', [1, [2]]), ('neg', -7), ('none', None), ('s', 'héllo ☃'), ('set', {3}), ('t', True)]");
  });
});
