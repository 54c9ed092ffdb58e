// memory://[name]: a QueueStore in this process's memory, shared by every app that opens the same name (kombu's
// memory transport). For tests and eager development: real prefetch, acks, priorities, redelivery and broadcast,
// no persistence. Priorities follow AMQP: a higher number is taken first. Worker leases expire on this process's
// clock (a stopped worker's messages come back; a crashed process takes its memory with it).

import { markRedeliveredIfEnvelope } from '../../protocol/envelope.js';
import { redactUrl } from '../../config/urls.js';
import { MemoryCoordination } from '../../drivers/coordination.js';
import type { TransportFactory } from '../transport.js';
import { createVirtualTransport } from '../virtual/transport.js';
import type { Binding, QueueStore, TakeOptions, TakenMessage } from '../virtual/queue-store.js';

/** A FIFO with O(1) push/shift/unshift, so a deep queue does not cost O(n) per take. */
class Deque<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    return n;
  }
}

interface Held { queue: string; raw: string; priority: number; since: number; dueAt?: number; lease?: string }

/** A queue: one FIFO per priority in use, highest first. */
class PriorityQueue {
  private readonly levels = new Map<number, Deque<string>>();
  private order: number[] = [];
  get length(): number {
    let n = 0;
    for (const d of this.levels.values()) n += d.length;
    return n;
  }
  private level(priority: number): Deque<string> {
    let d = this.levels.get(priority);
    if (!d) {
      d = new Deque();
      this.levels.set(priority, d);
      this.order = [...this.levels.keys()].sort((a, b) => b - a);
    }
    return d;
  }
  push(raw: string, priority: number): void {
    this.level(priority).push(raw);
  }
  unshift(raw: string, priority: number): void {
    this.level(priority).unshift(raw);
  }
  shift(): { raw: string; priority: number } | undefined {
    for (const p of this.order) {
      const raw = this.levels.get(p)!.shift();
      if (raw !== undefined) return { raw, priority: p };
    }
    return undefined;
  }
  clear(): number {
    let n = 0;
    for (const d of this.levels.values()) n += d.clear();
    return n;
  }
}

/** The state behind one memory:// name, shared by every store opened on it. */
class MemoryBroker {
  readonly queues = new Map<string, PriorityQueue>();
  readonly unacked = new Map<string, Held>();
  /** Lease id → expiry (epoch ms). */
  readonly leases = new Map<string, number>();
  readonly deferred = new Map<string, Held>();
  readonly bindings = new Map<string, Binding[]>();
  readonly channels = new Map<string, Set<(raw: string) => void>>();
  readonly coordination = new MemoryCoordination();
  readonly waiters = new Set<() => void>();
  private nextTag = 0;
  private wakeScheduled = false;

  queue(name: string): PriorityQueue {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new PriorityQueue()));
    return q;
  }
  tag(): string {
    return `m${++this.nextTag}`;
  }
  /** Wake blocked takers on the next turn, as a network broker would: the publisher's own code runs first. */
  wakeAll(): void {
    if (!this.waiters.size || this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      for (const wake of [...this.waiters]) wake();
    });
  }
}

const brokers = new Map<string, MemoryBroker>();

function brokerNamed(name: string): MemoryBroker {
  let b = brokers.get(name);
  if (!b) brokers.set(name, (b = new MemoryBroker()));
  return b;
}

/** A QueueStore over the shared state of `memory://<name>`. */
export function createMemoryStore(name = ''): QueueStore {
  const b = brokerNamed(name);

  const takeNow = (queues: readonly string[], max: number, holder?: string): TakenMessage[] => {
    const taken: TakenMessage[] = [];
    const lease = holder !== undefined && b.leases.has(holder) ? holder : undefined;
    for (const queue of queues) {
      const q = b.queues.get(queue);
      while (q && taken.length < max) {
        const next = q.shift();
        if (!next) break;
        const tag = b.tag();
        b.unacked.set(tag, { queue, raw: next.raw, priority: next.priority, since: Date.now(), lease });
        taken.push({ queue, raw: next.raw, tag, holder: lease });
      }
      if (taken.length >= max) break;
    }
    return taken;
  };

  const requeueHeld = (held: Held, redelivered: boolean) => {
    b.queue(held.queue).unshift(redelivered ? markRedeliveredIfEnvelope(held.raw) : held.raw, held.priority);
    b.wakeAll();
  };

  /** The held message `tag`, when `holder` (if given) still holds it. */
  const heldBy = (tag: string, holder?: string): Held | undefined => {
    const held = b.unacked.get(tag);
    return held && (holder === undefined || held.lease === holder) ? held : undefined;
  };

  /** Restore every message held under a lease `gone` says is gone, then forget those leases. */
  const restoreLeased = (gone: (lease: string) => boolean): number => {
    let n = 0;
    for (const [tag, held] of b.unacked) {
      if (held.lease === undefined || !gone(held.lease)) continue;
      b.unacked.delete(tag);
      requeueHeld(held, true);
      n++;
    }
    for (const id of [...b.leases.keys()]) if (gone(id)) b.leases.delete(id);
    return n;
  };

  return {
    async put(queue, raw, priority) {
      b.queue(queue).push(raw, priority);
      b.wakeAll();
    },
    async take(queues, options: TakeOptions) {
      const deadline = Date.now() + options.timeoutMs;
      for (;;) {
        const taken = takeNow(queues, Math.max(1, options.max), options.holder);
        if (taken.length || options.signal.aborted) return taken;
        const left = deadline - Date.now();
        if (left <= 0) return [];
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            b.waiters.delete(done);
            options.signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, left);
          b.waiters.add(done);
          options.signal.addEventListener('abort', done, { once: true });
        });
      }
    },
    async ack(tag, holder) {
      if (!heldBy(tag, holder)) return holder === undefined ? undefined : false;
      b.unacked.delete(tag);
      return true;
    },
    async requeue(tag, holder) {
      const held = heldBy(tag, holder);
      if (!held) return false;
      b.unacked.delete(tag);
      requeueHeld(held, true);
      return true;
    },
    leases: {
      async open(id, ttlMs) {
        b.leases.set(id, Date.now() + ttlMs);
      },
      async renew(id, ttlMs) {
        if (!b.leases.has(id)) return false;
        b.leases.set(id, Date.now() + ttlMs);
        return true;
      },
      async sweep() {
        const now = Date.now();
        return restoreLeased((id) => (b.leases.get(id) ?? 0) <= now);
      },
      async release(id) {
        return restoreLeased((lease) => lease === id);
      },
      async held(id) {
        return [...b.unacked].filter(([, held]) => held.lease === id).map(([tag]) => tag);
      },
    },
    async restoreExpired(visibilityTimeoutMs) {
      const cutoff = Date.now() - visibilityTimeoutMs;
      let n = 0;
      for (const [tag, held] of b.unacked) {
        if (held.since > cutoff || held.lease !== undefined) continue;
        b.unacked.delete(tag);
        requeueHeld(held, true);
        n++;
      }
      return n;
    },
    async size(queue) {
      return b.queues.get(queue)?.length ?? 0;
    },
    async purge(queue) {
      return b.queues.get(queue)?.clear() ?? 0;
    },
    bindings: {
      async add(binding) {
        const list = b.bindings.get(binding.exchange) ?? [];
        if (!list.some((x) => x.queue === binding.queue && x.routingKey === binding.routingKey && x.pattern === binding.pattern)) list.push(binding);
        b.bindings.set(binding.exchange, list);
      },
      async remove(binding) {
        const list = b.bindings.get(binding.exchange) ?? [];
        b.bindings.set(binding.exchange, list.filter((x) => !(x.queue === binding.queue && x.routingKey === binding.routingKey && x.pattern === binding.pattern)));
      },
      async list(exchange) {
        return b.bindings.get(exchange) ?? [];
      },
    },
    broadcast: {
      async publish(channel, raw) {
        // `exchange/routing_key` reaches listeners of the exchange, like PSUBSCRIBE on Redis.
        const slash = channel.indexOf('/');
        const exchange = slash < 0 ? channel : channel.slice(0, slash);
        for (const listener of [...(b.channels.get(exchange) ?? [])]) setImmediate(() => listener(raw));
      },
      async listen(channel, onMessage) {
        let set = b.channels.get(channel);
        if (!set) b.channels.set(channel, (set = new Set()));
        const listener = (raw: string) => onMessage(raw);
        set.add(listener);
        return async () => {
          set.delete(listener);
        };
      },
    },
    coordination: b.coordination,
    deferral: {
      async defer(tag, dueAt, holder) {
        const held = heldBy(tag, holder);
        if (!held) return false;
        b.unacked.delete(tag);
        b.deferred.set(tag, { ...held, dueAt, lease: undefined });
        return true;
      },
      async releaseDue(now) {
        let n = 0;
        for (const [tag, held] of b.deferred) {
          if ((held.dueAt ?? 0) > now) continue;
          b.deferred.delete(tag);
          b.queue(held.queue).unshift(held.raw, held.priority);
          n++;
        }
        if (n) b.wakeAll();
        return n;
      },
    },
    async close() {
      // The state belongs to the name, not to this handle: other apps in the process keep using it.
    },
  };
}

/** Open the memory:// broker: queues in this process, shared by every app using the same URL. */
export const createTransport: TransportFactory = (options) => {
  const name = options.url.replace(/^memory:\/\//i, '').replace(/\/+$/, '');
  return createVirtualTransport(createMemoryStore(name), {
    displayUrl: redactUrl(options.url),
    transportOptions: options.transportOptions,
    capabilities: { priority: true },
  });
};
