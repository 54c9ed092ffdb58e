// broker_transport_options of the Redis broker that shape kombu's key layout and consumption (REDIS-WIRE.md §1, §4):
// key prefix, separator, priority steps, unacked keys, queue order strategy, polling interval, fanout prefix.

import { ImproperlyConfigured } from '../../errors.js';

/** kombu's separator for priority lists and binding members: ASCII ACK + SYN. */
export const DEFAULT_SEP = '\x06\x16';
/** kombu's default priority steps. */
export const DEFAULT_PRIORITY_STEPS: readonly number[] = [0, 3, 6, 9];
/** Resolved broker_transport_options that shape the key layout and consumption. */
export interface RedisStoreSettings {
  readonly prefix: string;
  readonly sep: string;
  readonly steps: readonly number[];
  readonly unackedKey: string;
  readonly unackedIndexKey: string;
  readonly unackedMutexKey: string;
  readonly mutexExpireMs: number;
  readonly strategy: 'priority' | 'round_robin' | 'sorted';
  readonly recheckMs: number;
  readonly fanoutPrefix: boolean;
}

/** broker_transport_options → settings, validated (ImproperlyConfigured lists what is wrong). */
export function storeSettings(t: Readonly<Record<string, unknown>>): RedisStoreSettings {
  const steps = t.priority_steps === undefined ? DEFAULT_PRIORITY_STEPS : t.priority_steps;
  if (!Array.isArray(steps) || steps.length === 0 || !steps.every((s) => Number.isInteger(s) && s >= 0 && s <= 255)) {
    throw new ImproperlyConfigured(`broker_transport_options.priority_steps must be a non-empty list of integers 0–255 (kombu's default is [0, 3, 6, 9]); got ${JSON.stringify(steps)}.`, { context: { setting: 'broker_transport_options' } });
  }
  const strategy = String(t.queue_order_strategy ?? 'priority');
  if (!['priority', 'round_robin', 'sorted'].includes(strategy)) {
    throw new ImproperlyConfigured(`broker_transport_options.queue_order_strategy must be 'priority', 'round_robin' or 'sorted'; got '${strategy}'.`, { context: { setting: 'broker_transport_options' } });
  }
  const polling = Number(t.polling_interval ?? 0.1);
  return {
    prefix: String(t.global_keyprefix ?? ''),
    sep: String(t.sep ?? DEFAULT_SEP),
    steps: [...new Set(steps as number[])].sort((a, b) => a - b),
    unackedKey: String(t.unacked_key ?? 'unacked'),
    unackedIndexKey: String(t.unacked_index_key ?? 'unacked_index'),
    unackedMutexKey: String(t.unacked_mutex_key ?? 'unacked_mutex'),
    mutexExpireMs: Number(t.unacked_mutex_expire ?? 300) * 1000,
    strategy: strategy as RedisStoreSettings['strategy'],
    recheckMs: Math.min(1_000, Math.max(10, (Number.isFinite(polling) ? polling : 0.1) * 1000)),
    fanoutPrefix: t.fanout_prefix !== false,
  };
}

/** The priority step a message priority maps to: the largest step ≤ priority (kombu's rounding down). */
export function priorityStep(steps: readonly number[], priority: number): number {
  let step = steps[0]!;
  for (const s of steps) if (priority >= s) step = s;
  return step;
}
