// The Redis Cluster QueueStore (redis+cluster://): one RedisQueueStore per queue, each with its own key prefix
// `<global_keyprefix>{<queue>}.`, so every key of one queue — its lists and priority lists, unacked hash and index,
// sweep mutex, lease registry and held hashes, deferred set — carries the hash tag `{<queue>}` and lives in one slot.
// The Lua scripts of scripts.ts and lease-scripts.ts therefore run unchanged, each inside one slot; what spans queues
// (a take over several queues, the visibility sweep, leases, releasing deferred messages) is done here per queue.
//
// Design
// - Key layout: queue `q` → list `P{q}.q` (+ `P{q}.q<SEP><step>`), `P{q}.unacked`, `P{q}.unacked_index`,
//   `P{q}.unacked_mutex`, `P{q}.celeriac.leases`, `P{q}.celeriac.held.<lease>`, `P{q}.celeriac.deferred`
//   (P = global_keyprefix). Bindings `P_kombu.binding.<exchange>` are single keys anywhere. Not kombu's layout:
//   Python Celery cannot share these queues (kombu has no cluster transport).
// - Connections: one auto-pipelined Cluster client and one subscriber shared by every per-queue store; each
//   concurrent blocking wait has its own Cluster client (a blocking command holds its node's connection).
// - take: queues in order (priority), sorted, or rotating (round_robin); the first queue that yields messages
//   answers. When all are empty, block on the first queue (re-checking the others every polling_interval).
// - ack/requeue/defer name only a delivery tag: the store remembers which queue each tag it handed out came from.
// - Leases: a lease is opened in a queue's registry just before its first take there, renewed and released in
//   every registry it was opened in; when one registry lost it (swept), it is released in the others too, so the
//   lease keeper's replacement starts clean everywhere.
// - Fanout: classic PUBLISH/SUBSCRIBE, which a cluster forwards to every node: listeners on any node hear it.

import type { BindingTable, QueueStore, QueueStoreLeases, TakeOptions, TakenMessage } from '../virtual/queue-store.js';
import { ImproperlyConfigured } from '../../errors.js';
import { RedisSubscriber } from '../../drivers/redis-pubsub.js';
import { closeRedis, openRedis, type RedisConnectionConfig } from '../../drivers/redis.js';
import { RedisCoordination } from '../../drivers/redis-coordination.js';
import { RedisQueueStore } from './store.js';
import { storeSettings, type RedisStoreSettings } from './settings.js';

const MAX_REMEMBERED_TAGS = 1_000_000;

/** A QueueStore over a Redis Cluster: per-queue RedisQueueStores whose keys share the queue's hash slot. */
export class RedisClusterQueueStore implements QueueStore {
  readonly bindings: BindingTable;
  readonly coordination: RedisCoordination;
  readonly broadcast: NonNullable<QueueStore['broadcast']>;
  readonly deferral: NonNullable<QueueStore['deferral']>;
  readonly leases: QueueStoreLeases;
  private readonly s: RedisStoreSettings;
  private readonly root: RedisQueueStore;
  private readonly shared;
  private readonly queues = new Map<string, RedisQueueStore>();
  /** Delivery tag → the store of the queue it was taken from, until it is settled. */
  private readonly origin = new Map<string, RedisQueueStore>();
  /** Open leases: id → time to live (ms), and the stores whose registries have it. */
  private readonly leaseTtl = new Map<string, number>();
  private readonly leaseIn = new Map<string, Set<RedisQueueStore>>();
  private readonly rotation = new Map<string, string[]>();
  private closed = false;

  constructor(private readonly config: RedisConnectionConfig, private readonly transportOptions: Readonly<Record<string, unknown>> = {}) {
    this.s = storeSettings(transportOptions);
    if (/[{}]/.test(this.s.prefix)) {
      throw new ImproperlyConfigured(`broker_transport_options.global_keyprefix '${this.s.prefix}' holds a brace; on a Redis Cluster celeriac adds the hash tag {<queue>} itself. Use a prefix without { and }.`, { context: { setting: 'broker_transport_options' } });
    }
    this.shared = { command: openRedis(config, 'command', transportOptions), subscriber: new RedisSubscriber(() => openRedis(config, 'subscriber', transportOptions)) };
    // Bindings, fanout and coordination use single keys and channels under the plain prefix.
    this.root = new RedisQueueStore(config, transportOptions, this.shared);
    this.bindings = this.root.bindings;
    this.broadcast = this.root.broadcast;
    this.coordination = this.root.coordination;
    this.deferral = {
      defer: (tag, dueAt, holder) => this.settle(tag, holder, (store) => store.deferral.defer(tag, dueAt, holder)),
      releaseDue: async (now) => this.sum((store) => store.deferral.releaseDue(now)),
    };
    this.leases = this.makeLeases();
  }

  /** The store of one queue (created on first use): its keys all carry the hash tag `{<queue>}`. */
  private of(queue: string): RedisQueueStore {
    let store = this.queues.get(queue);
    if (!store) {
      store = new RedisQueueStore(this.config, { ...this.transportOptions, global_keyprefix: `${this.s.prefix}{${queue}}.` }, this.shared);
      this.queues.set(queue, store);
    }
    return store;
  }

  private async sum(fn: (store: RedisQueueStore) => Promise<number>): Promise<number> {
    const counts = await Promise.all([...this.queues.values()].map(fn));
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * Settle `tag` at the store it came from. A tag this process does not remember (a lease holding a message whose
   * take reply was lost) is tried at each store its lease is open in, else at every queue's store.
   */
  private async settle(tag: string, holder: string | undefined, fn: (store: RedisQueueStore) => Promise<boolean | void>): Promise<boolean> {
    const store = this.origin.get(tag);
    if (store) {
      this.origin.delete(tag);
      return (await fn(store)) !== false;
    }
    const candidates = (holder === undefined ? undefined : this.leaseIn.get(holder)) ?? new Set(this.queues.values());
    for (const candidate of candidates) if ((await fn(candidate)) === true) return true;
    return false;
  }

  private makeLeases(): QueueStoreLeases {
    const forget = (id: string) => {
      this.leaseTtl.delete(id);
      this.leaseIn.delete(id);
    };
    const release = async (id: string) => {
      const stores = [...(this.leaseIn.get(id) ?? [])];
      forget(id);
      const counts = await Promise.all(stores.map((store) => store.leases.release(id)));
      return counts.reduce((a, b) => a + b, 0);
    };
    return {
      open: async (id, ttlMs) => {
        this.leaseTtl.set(id, ttlMs);
        this.leaseIn.set(id, new Set());
      },
      renew: async (id, ttlMs) => {
        const stores = this.leaseIn.get(id);
        if (!stores) return false;
        this.leaseTtl.set(id, ttlMs);
        const alive = await Promise.all([...stores].map((store) => store.leases.renew(id, ttlMs)));
        if (alive.every(Boolean)) return true;
        await release(id);
        return false;
      },
      sweep: () => this.sum((store) => store.leases.sweep()),
      release,
      held: async (id) => (await Promise.all([...(this.leaseIn.get(id) ?? [])].map((store) => store.leases.held(id)))).flat(),
    };
  }

  /** Open lease `holder` in `store`'s registry before the first take there under it. */
  private async leaseAt(store: RedisQueueStore, holder: string | undefined): Promise<void> {
    if (holder === undefined) return;
    const stores = this.leaseIn.get(holder);
    const ttl = this.leaseTtl.get(holder);
    if (!stores || ttl === undefined || stores.has(store)) return;
    await store.leases.open(holder, ttl);
    stores.add(store);
  }

  put(queue: string, raw: string, priority: number): Promise<void> {
    return this.of(queue).put(queue, raw, priority);
  }

  async take(queues: readonly string[], options: TakeOptions): Promise<TakenMessage[]> {
    if (queues.length <= 1) return this.takeFrom(queues, options);
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const ordered = this.order(queues);
      for (const queue of ordered) {
        const taken = await this.takeFrom([queue], { ...options, timeoutMs: 0 });
        if (taken.length) {
          this.rotate(queues, queue);
          return taken;
        }
      }
      const left = deadline - Date.now();
      if (this.closed || options.signal.aborted || left <= 0) return [];
      const taken = await this.takeFrom([ordered[0]!], { ...options, timeoutMs: Math.min(left, this.s.recheckMs) });
      if (taken.length) return taken;
    }
  }

  private async takeFrom(queues: readonly string[], options: TakeOptions): Promise<TakenMessage[]> {
    const queue = queues[0];
    if (queue === undefined) return this.root.take([], options);
    const store = this.of(queue);
    await this.leaseAt(store, options.holder);
    const taken = await store.take([queue], options);
    if (this.origin.size + taken.length > MAX_REMEMBERED_TAGS) this.origin.clear();
    for (const t of taken) this.origin.set(t.tag, store);
    return taken;
  }

  /** Queue order for one take: as given (priority), alphabetical (sorted), or rotating (round_robin). */
  private order(queues: readonly string[]): readonly string[] {
    if (this.s.strategy === 'priority') return queues;
    if (this.s.strategy === 'sorted') return [...queues].sort();
    return this.rotation.get(queues.join('\0')) ?? queues;
  }

  private rotate(queues: readonly string[], served: string): void {
    if (this.s.strategy !== 'round_robin') return;
    const id = queues.join('\0');
    const current = this.rotation.get(id) ?? [...queues];
    this.rotation.set(id, [...current.filter((q) => q !== served), served]);
  }

  ack(tag: string, holder?: string): Promise<boolean> {
    return this.settle(tag, holder, (store) => store.ack(tag, holder));
  }

  requeue(tag: string, holder?: string): Promise<boolean> {
    return this.settle(tag, holder, (store) => store.requeue(tag, holder));
  }

  restoreExpired(visibilityTimeoutMs: number): Promise<number> {
    return this.sum((store) => store.restoreExpired(visibilityTimeoutMs));
  }

  probe(): Promise<void> {
    return this.of('celery').probe();
  }

  size(queue: string): Promise<number> {
    return this.of(queue).size(queue);
  }

  purge(queue: string): Promise<number> {
    return this.of(queue).purge(queue);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.root, ...this.queues.values()].map((store) => store.close()));
    await Promise.all([closeRedis(this.shared.command), this.shared.subscriber.close()]);
  }
}
