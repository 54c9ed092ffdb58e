// The task registry: name → task. Unknown names raise NotRegistered with a did-you-mean suggestion.

import { NotRegistered } from '../errors.js';

/** Celery's `app.tasks`: index it like an object (`app.tasks['tasks.add']`) or use get(). */
export class TaskRegistry<T extends { readonly name: string }> {
  [name: string]: unknown;

  /** The registered task, or NotRegistered naming the closest registered names. */
  get(name: string): T {
    const task = Object.hasOwn(this, name) ? (this[name] as T) : undefined;
    if (!task) throw notRegistered(name, this.names());
    return task;
  }

  has(name: string): boolean {
    return Object.hasOwn(this, name);
  }

  register(task: T): void {
    Object.defineProperty(this, task.name, { value: task, enumerable: true, configurable: true, writable: false });
  }

  unregister(name: string): void {
    delete this[name];
  }

  names(): string[] {
    return Object.keys(this).sort();
  }
}

/** Names longer than this get no did-you-mean (no registered name is that long; the search would cost seconds). */
export const SUGGEST_MAX_NAME = 256;

/** A NotRegistered error for `name`, suggesting the closest registered names; a long name is shown cut short. */
export function notRegistered(name: string, known: readonly string[]): NotRegistered {
  const near = suggest(name, known);
  return new NotRegistered(
    `Task '${shortName(name)}' is not registered${near.length ? `; did you mean ${near.map((n) => `'${n}'`).join(' or ')}?` : '.'} ` +
      'Check the name, and that the worker imports the module defining it (-A / imports).',
    { context: { taskName: name } },
  );
}

/** A task name fit for a log line: at most 200 characters, then how long it really is. */
export function shortName(name: string): string {
  return name.length <= 200 ? name : `${name.slice(0, 200)}… (${name.length} characters)`;
}

/**
 * Registered names within a small edit distance of `name` (a quarter of its length, at least 2), best first.
 * Bounded: nothing for names over SUGGEST_MAX_NAME characters, and names whose length alone puts them out of reach
 * are skipped before any distance is computed.
 */
export function suggest(name: string, known: readonly string[], max = 2): string[] {
  if (name.length > SUGGEST_MAX_NAME) return [];
  const limit = Math.max(2, Math.floor(name.length / 4));
  return known
    .filter((k) => Math.abs(k.length - name.length) <= limit && k.length <= SUGGEST_MAX_NAME)
    .map((k) => ({ k, d: editDistance(name, k) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d)
    .slice(0, max)
    .map((x) => x.k);
}

/** Levenshtein distance between two strings (insert, delete, substitute each cost 1). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
