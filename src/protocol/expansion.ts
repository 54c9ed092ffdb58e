// Bounds on the size of a decoded value as its readers will see it. A pickle may share one object in many places
// (its memo): a few hundred bytes can describe a value of 2^100 items once every reference is followed, and a
// printer, JSON encoder or dict-key conversion follows every one. The check walks iteratively and stops as soon as
// a bound is passed, so its own cost is bounded too.

import { DecodeError } from '../errors.js';

/** Bounds for checkExpansion: values counted each time they are reached (shared references count again), depth. */
export interface ExpansionLimits {
  /** Most values (containers and scalars) reachable when shared references are followed. */
  readonly maxValues: number;
  /** Deepest nesting of arrays and objects. */
  readonly maxDepth: number;
}

/**
 * Throw DecodeError when `value`, with every shared reference followed, holds more than `limits.maxValues` values
 * or nests deeper than `limits.maxDepth`; `what` names it in the message. Cycles always fail (they never end).
 * Returns how many values it counted.
 */
export function checkExpansion(value: unknown, limits: ExpansionLimits, what: string): number {
  const pending: Array<[unknown, number]> = [[value, 0]];
  let seen = 0;
  while (pending.length > 0) {
    const [v, depth] = pending.pop()!;
    if (++seen > limits.maxValues) {
      throw new DecodeError(`${what} expands to more than ${limits.maxValues} values once its shared references are followed (a memo bomb or a cycle); refused. Store plain data without shared references.`);
    }
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) continue;
    if (depth >= limits.maxDepth) {
      throw new DecodeError(`${what} nests deeper than ${limits.maxDepth} levels; refused. Store flatter data.`);
    }
    const items = Array.isArray(v) ? v : Object.values(v);
    for (const item of items) pending.push([item, depth + 1]);
  }
  return seen;
}
