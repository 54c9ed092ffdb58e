// Broker failover for the virtual transports (kombu's connection alternates): one QueueStore per URL of a failover
// list, one of them active. A call that fails with a connection error moves the active store to the next URL (the
// broker_failover_strategy) and is tried there, each store at most once per call. Bindings are replayed on a store
// before it serves, so a publish never routes to nowhere; broadcast listeners follow the active store. Settles go to
// the store the message was taken from (a message cannot be acked on another broker), so their outcome stays true.

import type { Coordination } from '../../drivers/coordination.js';
import type { NextFailover } from '../../config/failover-strategy.js';
import type { Binding, BindingTable, QueueStore, QueueStoreLeases, TakenMessage, TakeOptions } from './queue-store.js';

/** What a FailoverQueueStore needs: one store per URL, the order to try them, and the connection-error predicate. */
export interface FailoverOptions {
  /** One store per URL of the failover list, in the order written (the first is active at start). */
  readonly stores: readonly QueueStore[];
  /** broker_failover_strategy compiled for the URLs (config/failover-strategy.ts). */
  readonly next: NextFailover;
  /** True for errors that mean "this broker is unreachable" (kombu's connection_errors). */
  readonly isRecoverable: (error: unknown) => boolean;
  /** Told each time the active store changes: the index that failed, the new one, and the error. */
  readonly onSwitch?: (from: number, to: number, error: unknown) => void;
}

// A tag names the store it came from: `<index>|<store's own tag>`.
const TAG_SEP = '|';

interface Listener { readonly channel: string; readonly onMessage: (raw: string) => void; stop?: () => Promise<void> }

/**
 * A QueueStore over several brokers of one kind, serving from one at a time and moving to the next on a connection
 * error. Messages confirmed on a broker stay there (they are not copied): when it comes back, consumers that fail
 * over to it again take them. Deliveries held when a broker went away may run twice (the lease or visibility timeout
 * returns them on that broker).
 */
export class FailoverQueueStore implements QueueStore {
  readonly bindings: BindingTable;
  readonly coordination?: Coordination;
  readonly leases?: QueueStoreLeases;
  readonly broadcast?: NonNullable<QueueStore['broadcast']>;
  readonly deferral?: NonNullable<QueueStore['deferral']>;
  private activeIndex = 0;
  private readonly known = new Map<string, Binding>();
  // Per store: its binding replay, done once each time it becomes active.
  private readonly prepared = new Map<number, Promise<void>>();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly options: FailoverOptions) {
    const first = options.stores[0]!;
    this.bindings = {
      add: async (binding) => {
        this.known.set(bindingKey(binding), binding);
        await this.run((s) => s.bindings.add(binding));
      },
      remove: async (binding) => {
        this.known.delete(bindingKey(binding));
        await this.run((s) => s.bindings.remove(binding));
      },
      list: (exchange) => this.run((s) => s.bindings.list(exchange)),
    };
    if (first.coordination) {
      const where = options.stores.map((s) => s.coordination?.where ?? '').join(';');
      this.coordination = {
        where,
        get: (key) => this.run((s) => s.coordination!.get(key)),
        compareAndSet: (key, expected, value) => this.run((s) => s.coordination!.compareAndSet(key, expected, value)),
        lease: (key, holder, ttlMs) => this.run((s) => s.coordination!.lease(key, holder, ttlMs)),
        release: (key, holder) => this.run((s) => s.coordination!.release(key, holder)),
      };
    }
    if (first.leases) {
      this.leases = {
        open: (id, ttlMs) => this.run((s) => s.leases!.open(id, ttlMs)),
        renew: (id, ttlMs) => this.run((s) => s.leases!.renew(id, ttlMs)),
        sweep: () => this.run((s) => s.leases!.sweep()),
        release: (id) => this.run((s) => s.leases!.release(id)),
        held: (id) => this.run(async (s, index) => (await s.leases!.held(id)).map((tag) => `${index}${TAG_SEP}${tag}`)),
      };
    }
    if (first.broadcast) {
      this.broadcast = {
        publish: (channel, raw) => this.run((s) => s.broadcast!.publish(channel, raw)),
        listen: async (channel, onMessage) => {
          const listener: Listener = { channel, onMessage };
          this.listeners.add(listener);
          listener.stop = await this.run((s) => s.broadcast!.listen(channel, onMessage));
          return async () => {
            this.listeners.delete(listener);
            await listener.stop?.();
          };
        },
      };
    }
    if (first.deferral) {
      this.deferral = {
        defer: (tag, dueAt, holder) => this.at(tag, (s, own) => s.deferral!.defer(own, dueAt, holder)),
        releaseDue: (now) => this.run((s) => s.deferral!.releaseDue(now)),
      };
    }
  }

  /** Index (in the failover list) of the broker now serving. */
  get active(): number {
    return this.activeIndex;
  }

  put(queue: string, raw: string, priority: number): Promise<void> {
    return this.run((s) => s.put(queue, raw, priority));
  }

  take(queues: readonly string[], options: TakeOptions): Promise<TakenMessage[]> {
    return this.run(async (s, index) => (await s.take(queues, options)).map((t) => ({ ...t, tag: `${index}${TAG_SEP}${t.tag}` })));
  }

  ack(tag: string, holder?: string): Promise<boolean | void> {
    return this.at(tag, (s, own) => s.ack(own, holder));
  }

  requeue(tag: string, holder?: string): Promise<boolean | void> {
    return this.at(tag, (s, own) => s.requeue(own, holder));
  }

  restoreExpired(visibilityTimeoutMs: number): Promise<number> {
    return this.run((s) => s.restoreExpired(visibilityTimeoutMs));
  }

  probe(): Promise<void> {
    return this.run(async (s) => {
      if (s.probe) await s.probe();
      else await s.size('celery');
    });
  }

  size(queue: string): Promise<number> {
    return this.run((s) => s.size(queue));
  }

  purge(queue: string): Promise<number> {
    return this.run((s) => s.purge(queue));
  }

  async close(): Promise<void> {
    await Promise.all(this.options.stores.map((s) => s.close()));
  }

  /** A settle goes to the store its tag came from, whichever is active now. */
  private at<T>(tag: string, fn: (store: QueueStore, own: string) => Promise<T>): Promise<T> {
    const cut = tag.indexOf(TAG_SEP);
    const store = this.options.stores[Number(tag.slice(0, cut))];
    return store ? fn(store, tag.slice(cut + 1)) : fn(this.options.stores[this.activeIndex]!, tag);
  }

  /** Run on the active store; on a connection error fail over and try the next, each store once. */
  private async run<T>(fn: (store: QueueStore, index: number) => Promise<T>): Promise<T> {
    const stores = this.options.stores;
    let lastError: unknown;
    for (let tried = 0; tried < stores.length; tried++) {
      const index = this.activeIndex;
      const store = stores[index]!;
      try {
        await this.prepare(index);
        return await fn(store, index);
      } catch (error) {
        if (!this.options.isRecoverable(error)) throw error;
        lastError = error;
        this.failed(index, error);
      }
    }
    throw lastError;
  }

  /** Store `index` failed: unless another call already moved on, make the strategy's next store active. */
  private failed(index: number, error: unknown): void {
    if (this.activeIndex !== index) return;
    const next = this.options.next(index);
    this.activeIndex = next;
    this.prepared.delete(next);
    this.options.onSwitch?.(index, next, error);
    for (const listener of this.listeners) void this.move(listener);
  }

  /** Before a store serves: the bindings this process declared, so its publishes route as on the last broker. */
  private prepare(index: number): Promise<void> {
    let ready = this.prepared.get(index);
    if (!ready) {
      const store = this.options.stores[index]!;
      ready = Promise.all([...this.known.values()].map((b) => store.bindings.add(b))).then(() => undefined);
      ready.catch(() => this.prepared.delete(index));
      this.prepared.set(index, ready);
    }
    return ready;
  }

  /** Re-listen a broadcast channel on the active store; the old listener is stopped without waiting on a dead broker. */
  private async move(listener: Listener): Promise<void> {
    const old = listener.stop;
    void old?.().catch(() => undefined);
    try {
      const stop = await this.run((s) => s.broadcast!.listen(listener.channel, listener.onMessage));
      if (this.listeners.has(listener)) listener.stop = stop;
      else await stop();
    } catch {
      // Every broker is down: the next failover (a later call's) moves it again.
    }
  }
}

function bindingKey(b: Binding): string {
  return `${b.exchange}\0${b.routingKey}\0${b.pattern}\0${b.queue}`;
}
