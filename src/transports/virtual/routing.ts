// Exchange routing for virtual brokers: direct (routing key equality), topic (`*` one word, `#` any words),
// fanout (every bound queue). Pure functions; the transport decides what to do with the result.

import type { Binding } from './queue-store.js';

/** AMQP topic matching: words split by '.', `*` matches one word, `#` zero or more. */
export function topicMatches(pattern: string, routingKey: string): boolean {
  return matchWords(pattern.split('.'), routingKey.split('.'));
}

function matchWords(p: readonly string[], k: readonly string[]): boolean {
  if (p.length === 0) return k.length === 0;
  const [head, ...rest] = p;
  if (head === '#') return matchWords(rest, k) || (k.length > 0 && matchWords(p, k.slice(1)));
  return k.length > 0 && (head === '*' || head === k[0]) && matchWords(rest, k.slice(1));
}

/** The queues a message with `routingKey` reaches through `bindings` of an exchange of `type`. */
export function routeToQueues(type: 'direct' | 'topic' | 'fanout', bindings: readonly Binding[], routingKey: string): string[] {
  const queues = new Set<string>();
  for (const b of bindings) {
    if (type === 'fanout' || (type === 'direct' && b.routingKey === routingKey) || (type === 'topic' && topicMatches(b.routingKey, routingKey))) {
      queues.add(b.queue);
    }
  }
  return [...queues];
}
