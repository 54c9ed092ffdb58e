// broker_failover_strategy: the order of failover URLs after one fails (issue 18, broker failover).

import { describe, expect, it } from 'vitest';
import { failoverOrder } from '../../../src/config/failover-strategy.js';
import { ImproperlyConfigured } from '../../../src/errors.js';

const urls = ['redis://a', 'redis://b', 'redis://c'];

describe('failoverOrder', () => {
  it('round-robin (the default) moves to the next URL and wraps around', () => {
    for (const strategy of [undefined, null, 'round-robin'] as const) {
      const next = failoverOrder(strategy, urls);
      expect([next(0), next(1), next(2)]).toEqual([1, 2, 0]);
    }
  });

  it('a single URL always answers itself', () => {
    expect(failoverOrder('shuffle', ['redis://a'])(0)).toBe(0);
  });

  it('shuffle visits every URL once per round in random order, never the one that just failed first', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const next = failoverOrder('shuffle', urls, random);
    const rounds: number[][] = [];
    let failed = 0;
    for (let r = 0; r < 20; r++) {
      const round: number[] = [];
      for (let i = 0; i < 3; i++) {
        const picked = next(failed);
        expect(picked).not.toBe(failed);
        round.push(picked);
        failed = picked;
      }
      rounds.push(round);
    }
    // Over 60 picks every URL is chosen, and not in one fixed cycle.
    expect(new Set(rounds.flat())).toEqual(new Set([0, 1, 2]));
    expect(new Set(rounds.map((r) => r.join(''))).size).toBeGreaterThan(1);
  });

  it('a function gets the URLs and its iterator decides', () => {
    const next = failoverOrder(function* (list) {
      for (;;) yield list[2]!;
    }, urls);
    expect([next(0), next(2)]).toEqual([2, 2]);
  });

  it('a function that yields a stranger or stops is a configuration error', () => {
    expect(() => failoverOrder(() => ['redis://x'][Symbol.iterator](), urls)(0)).toThrow(ImproperlyConfigured);
    expect(() => failoverOrder(() => [][Symbol.iterator](), urls)(0)).toThrow(/endless iterator/);
  });

  it('an unknown name is a configuration error', () => {
    expect(() => failoverOrder('random' as never, urls)).toThrow(/round-robin/);
  });
});
