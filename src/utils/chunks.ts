// Splitting long lists into bounded slices: a list from outside (ids, keys, messages) is never spread into one
// call's arguments whole, which overflows the stack past ~100,000 items.

/** Items per slice where a list goes to one call's arguments (a Redis command, a script call). */
export const CHUNK = 1000;

/** `items` in consecutive slices of at most `size` items (the last may be shorter); no slices for no items. */
export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
