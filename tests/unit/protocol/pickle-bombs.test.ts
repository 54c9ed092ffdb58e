// Issue 19 item 3b: a pickle whose memo shares one object many times (a "memo bomb"), or refers to itself, is
// refused by pickleLoads after bounded work, instead of expanding to 2^100 values in whatever reads it.

import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/errors.js';
import { checkExpansion } from '../../../src/protocol/expansion.js';
import { pickleLoads } from '../../../src/protocol/pickle.js';
import { pickleDumps } from '../../../src/protocol/pickle-writer.js';
import { picklePayload } from '../../fixtures/hostile/index.js';

const fixture = (name: string) => picklePayload(name.replace(/\.pickle$/, ''));

describe('pickleLoads refuses memo bombs written by Python', () => {
  it.each([
    ['a tuple sharing itself 100 levels deep (2^100 values)', 'pickle-tuple-dag.pickle', /expands to more than/],
    ['a list DAG inside a dict (protocol 2)', 'pickle-list-dag.pickle', /expands to more than/],
    ['a tuple DAG used as a dict key (turned into text)', 'pickle-dict-key-dag.pickle', /A tuple dict key in the pickle expands/],
    ['a list that contains itself', 'pickle-cycle.pickle', /expands to more than|nests deeper/],
  ])('%s', (_what, file, message) => {
    const bytes = fixture(file);
    expect(bytes.length).toBeLessThan(1024);
    const error = (() => {
      try {
        pickleLoads(bytes);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as Error).message).toMatch(message);
  });

  it('still reads shared references of a modest size', () => {
    const shared = ['x'.repeat(10)];
    expect((pickleLoads(pickleDumps({ a: shared, b: shared })) as { b: string[] }).b).toEqual(shared);
  });
});

describe('checkExpansion', () => {
  it('counts shared references each time and stops at the bound', () => {
    let dag: unknown[] = [];
    for (let i = 0; i < 60; i++) dag = [dag, dag];
    expect(() => checkExpansion(dag, { maxValues: 10_000, maxDepth: 100 }, 'The value')).toThrow(/more than 10000 values/);
    expect(checkExpansion([1, [2, 3]], { maxValues: 10, maxDepth: 10 }, 'x')).toBe(5);
  });

  it('refuses nesting past maxDepth without recursion of its own', () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => checkExpansion(deep, { maxValues: 1e9, maxDepth: 2000 }, 'The value')).toThrow(/deeper than 2000/);
  });
});
