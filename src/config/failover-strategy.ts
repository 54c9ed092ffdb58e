// broker_failover_strategy: the order in which the URLs of a failover list (`a;b;c` or an array) are tried after a
// connection to one of them fails (kombu's failover strategies). Pure: the random source is injectable.

import { ImproperlyConfigured } from '../errors.js';

/**
 * A strategy as Celery accepts it: 'round-robin' (kombu's default, `itertools.cycle`), 'shuffle' (every round in a
 * new random order), or a function that receives the URLs and returns an iterator of URLs to try, forever.
 */
export type FailoverStrategy = 'round-robin' | 'shuffle' | ((urls: readonly string[]) => Iterator<string> | Iterable<string>);

/** Picks the index of the URL to try after `failed` (the index of the URL that just failed). */
export type NextFailover = (failed: number) => number;

/**
 * Compile a strategy for `urls` into a function giving the next index to try. With one URL it always answers 0.
 * A function strategy that yields a URL not in the list, or stops, throws ImproperlyConfigured naming the setting.
 */
export function failoverOrder(strategy: FailoverStrategy | null | undefined, urls: readonly string[], random: () => number = Math.random): NextFailover {
  const n = urls.length;
  if (n <= 1) return () => 0;
  if (strategy === undefined || strategy === null || strategy === 'round-robin') return (failed) => (failed + 1) % n;
  if (strategy === 'shuffle') return shuffled(n, random);
  if (typeof strategy === 'function') return custom(strategy, urls);
  throw new ImproperlyConfigured(`broker_failover_strategy ${JSON.stringify(strategy)} is not known. Use 'round-robin', 'shuffle' or a function returning an iterator of URLs.`);
}

/** Each round visits every other URL once, in a fresh random order (never the one that just failed first). */
function shuffled(n: number, random: () => number): NextFailover {
  let round: number[] = [];
  return (failed) => {
    if (round.length === 0) {
      round = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [round[i], round[j]] = [round[j]!, round[i]!];
      }
    }
    const at = round.findIndex((i) => i !== failed);
    return round.splice(at, 1)[0]!;
  };
}

function custom(strategy: (urls: readonly string[]) => Iterator<string> | Iterable<string>, urls: readonly string[]): NextFailover {
  const made = strategy(urls);
  const iterator = Symbol.iterator in Object(made) ? (made as Iterable<string>)[Symbol.iterator]() : (made as Iterator<string>);
  return () => {
    const step = iterator.next();
    const index = step.done ? -1 : urls.indexOf(String(step.value));
    if (index < 0) {
      throw new ImproperlyConfigured(step.done
        ? 'broker_failover_strategy stopped yielding URLs. Make the function return an endless iterator (cycle over the URLs).'
        : 'broker_failover_strategy yielded a URL that is not in broker_url. Yield only the URLs the function received.');
    }
    return index;
  };
}
