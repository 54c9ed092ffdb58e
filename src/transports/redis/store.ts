// The Redis QueueStore: kombu's key layout (REDIS-WIRE.md §1, §4, §5) so Python Celery and celeriac share queues,
// with an atomic take. Storage only: exchanges, prefetch and delivery objects are the virtual layer's job.
//
// Design
// - Keys (all behind `global_keyprefix`): queue lists `<queue>` and `<queue>SEP<step>` for priority steps
//   [0, 3, 6, 9] (step 0 is taken first: on Redis a LOWER number is served first, as in kombu); binding sets
//   `_kombu.binding.<exchange>`; `unacked` (hash tag → `[envelope, "", queue]`), `unacked_index` (zset tag → epoch
//   seconds), `unacked_mutex`; and our own `celeriac.deferred` (zset: member = the unacked JSON, score = due time
//   in epoch ms) for messages handed back until an ETA.
// - put = LPUSH onto the priority list; consumers pop from the right (FIFO).
// - take = the TAKE script: RPOP up to `max` entries over the lists in order (queue1 steps 0,3,6,9, then queue2 …)
//   and record each in unacked/unacked_index in the same script, so a process that dies right after take loses
//   nothing (kombu's BRPOP-then-record can). The tag is the envelope's properties.delivery_tag; an entry that is not a
//   JSON object, has no tag, or whose tag is already held gets a generated tag `<uuid>.<n>` (and a non-JSON entry is
//   recorded as a JSON string), so every taken entry can be acked, requeued and swept like any other.
// - wait: when TAKE finds nothing, block WITHOUT consuming: `BLMOVE <first list> <first list> RIGHT RIGHT <t>` on a
//   blocking connection from a small pool (one per concurrent take, i.e. per consumer). A same-list move is a no-op
//   that returns as soon as that list is non-empty; then TAKE runs again. With several lists (always, with priority
//   steps) the wait is capped at `polling_interval` (default 0.1 s) so the other lists are re-checked. Abort
//   disconnects the blocking connection, which ends the wait at once.
// - ack = ZREM unacked_index + HDEL unacked in one MULTI, batched across acks issued in the same event-loop turn
//   (ACK_HELD, per lease, for messages held under one).
// - requeue/restoreExpired = the RESTORE/RESTORE_EXPIRED scripts: RPUSH the envelope (marked redelivered in headers
//   and properties.delivery_info, by editing the JSON text in Lua) to the consuming end of its priority list. The
//   sweep takes `unacked_mutex` (SET NX PX) inside the script, so Python workers sweeping concurrently skip.
// - deferral: DEFER moves an unacked entry into `celeriac.deferred`; RELEASE_DUE moves due ones back (RPUSH, not
//   marked redelivered). ETA tasks far in the future therefore escape the visibility-timeout redelivery.
// - fanout: PUBLISH on `/<db>.<channel>`; listeners SUBSCRIBE `/<db>.<exchange>` and PSUBSCRIBE
//   `/<db>.<exchange>/*` on one shared subscriber connection.
// - connections: one auto-pipelined command connection, one blocking connection per concurrent take, one
//   subscriber. ioredis reconnects with backoff; failed commands surface as OperationalError naming the redacted URL.
// - leases (scripts.ts header): a worker's takes record each tag in its lease's held hash; renewals re-score those
//   tags in unacked_index, so no visibility sweep (ours or kombu's) redelivers a live worker's messages however long
//   they run; LEASE_SWEEP restores the messages of expired leases. Entries without a lease (Python workers', or a
//   consumer that opened none) keep kombu's visibility-timeout rule.

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sleepLong } from '../../utils/long-timer.js';
import { CHUNK, chunks } from '../../utils/chunks.js';
import type { Binding, BindingTable, QueueStore, QueueStoreLeases, TakeOptions, TakenMessage } from '../virtual/queue-store.js';
import { RedisSubscriber } from '../../drivers/redis-pubsub.js';
import { closeRedis, openRedis, redisFailure, type RedisConnectionConfig } from '../../drivers/redis.js';
import { RedisCoordination } from '../../drivers/redis-coordination.js';
import { replicaWait, waitForReplicas, type ReplicaWait } from '../../drivers/redis-wait.js';
import { DEFER, PURGE, RELEASE_DUE, RESTORE, RESTORE_EXPIRED, TAKE } from './scripts.js';
import { ACK_HELD, LEASE_OPEN, LEASE_RELEASE, LEASE_RENEW, LEASE_SWEEP } from './lease-scripts.js';
import { priorityStep, storeSettings, type RedisStoreSettings } from './settings.js';

/** Our deferred-message set (not part of kombu's layout). */
export const DEFERRED_KEY = 'celeriac.deferred';
/** Our lease registry (zset: lease id → expiry, epoch ms) and the prefix of each lease's held hash. */
export const LEASES_KEY = 'celeriac.leases';
export const HELD_PREFIX = 'celeriac.held.';
const BATCH_LIMIT = 1000;

type Reply = (string | number)[];
interface ScriptCommands {
  celeriacTake(numKeys: number, ...args: string[]): Promise<Reply>;
  celeriacRestore(numKeys: number, ...args: string[]): Promise<number>;
  celeriacRestoreExpired(numKeys: number, ...args: string[]): Promise<[number, number]>;
  celeriacDefer(numKeys: number, ...args: string[]): Promise<number>;
  celeriacReleaseDue(numKeys: number, ...args: string[]): Promise<[number, number]>;
  celeriacPurge(numKeys: number, ...args: string[]): Promise<number>;
  celeriacAckHeld(numKeys: number, ...args: string[]): Promise<string[]>;
  celeriacLeaseOpen(numKeys: number, ...args: string[]): Promise<number>;
  celeriacLeaseRenew(numKeys: number, ...args: string[]): Promise<number>;
  celeriacLeaseSweep(numKeys: number, ...args: string[]): Promise<[number, number]>;
  celeriacLeaseRelease(numKeys: number, ...args: string[]): Promise<number>;
}
type CommandClient = Redis & ScriptCommands;

interface ListPlan { readonly lists: string[]; readonly names: string[] }

/** Connections a composing store (cluster-store.ts) shares between its stores: it opens and closes them. */
export interface SharedRedisConnections {
  readonly command: Redis;
  readonly subscriber: RedisSubscriber;
}

/**
 * A QueueStore with kombu's Redis key layout (see the file header); one command connection, blocking
 * connections for takes, one shared subscriber for fanout.
 */
export class RedisQueueStore implements QueueStore {
  readonly bindings: BindingTable;
  readonly coordination: RedisCoordination;
  readonly broadcast: NonNullable<QueueStore['broadcast']>;
  readonly deferral: NonNullable<QueueStore['deferral']>;
  readonly leases: QueueStoreLeases;
  private readonly client: CommandClient;
  private readonly subscriber: RedisSubscriber;
  private readonly idle: Redis[] = [];
  private readonly blocking = new Set<Redis>();
  private readonly plans = new Map<string, ListPlan>();
  private readonly rotation = new Map<string, string[]>();
  /** Acks issued in this event-loop turn, per lease ('' = none): sent as one command each. */
  private readonly ackBatches = new Map<string, { tags: string[]; done: Promise<ReadonlySet<string>> }>();
  private readonly putBatches = new Map<string, { queue: string; raws: string[]; settle: { resolve: () => void; reject: (e: unknown) => void }[] }>();
  private noBlmove = false;
  private closed = false;
  private readonly s: RedisStoreSettings;
  private readonly displayUrl: string;
  /** wait_replicas: a publish resolves once that many replicas have it (drivers/redis-wait.ts). */
  private readonly replicas: ReplicaWait | null;

  constructor(private readonly config: RedisConnectionConfig, private readonly transportOptions: Readonly<Record<string, unknown>> = {}, private readonly shared?: SharedRedisConnections) {
    this.s = storeSettings(transportOptions);
    this.displayUrl = config.displayUrl;
    this.replicas = replicaWait(transportOptions, 'broker_transport_options');
    this.subscriber = shared?.subscriber ?? new RedisSubscriber(() => openRedis(config, 'subscriber', transportOptions));
    const client = shared?.command ?? openRedis(config, 'command', transportOptions);
    client.defineCommand('celeriacTake', { lua: TAKE });
    client.defineCommand('celeriacRestore', { lua: RESTORE });
    client.defineCommand('celeriacRestoreExpired', { lua: RESTORE_EXPIRED });
    client.defineCommand('celeriacDefer', { lua: DEFER });
    client.defineCommand('celeriacReleaseDue', { lua: RELEASE_DUE });
    client.defineCommand('celeriacPurge', { lua: PURGE });
    client.defineCommand('celeriacAckHeld', { lua: ACK_HELD });
    client.defineCommand('celeriacLeaseOpen', { lua: LEASE_OPEN });
    client.defineCommand('celeriacLeaseRenew', { lua: LEASE_RENEW });
    client.defineCommand('celeriacLeaseSweep', { lua: LEASE_SWEEP });
    client.defineCommand('celeriacLeaseRelease', { lua: LEASE_RELEASE });
    this.client = client as CommandClient;
    this.bindings = this.makeBindings();
    this.leases = this.makeLeases();
    this.coordination = new RedisCoordination(this.client, this.s.prefix, this.displayUrl);
    this.broadcast = {
      publish: (channel, raw) => this.run(`publishing to fanout channel ${channel}`, async () => void (await this.client.publish(this.channel(channel), raw))),
      listen: (exchange, onMessage) => this.listen(exchange, onMessage),
    };
    this.deferral = {
      defer: (tag, dueAt, holder) => this.run('deferring a message', async () => {
        const k = this.keys();
        const held = holder === undefined ? [] : [this.heldKey(holder)];
        return (await this.client.celeriacDefer(3 + held.length, k.unacked, k.index, this.key(DEFERRED_KEY), ...held, tag, String(Math.round(dueAt)))) === 1;
      }),
      releaseDue: (now) => this.run('releasing deferred messages', async () => {
        let total = 0;
        for (;;) {
          const [n, seen] = await this.client.celeriacReleaseDue(1, this.key(DEFERRED_KEY), this.s.prefix, this.s.sep, this.s.steps.join(','), String(Math.round(now)), String(BATCH_LIMIT));
          total += Number(n);
          if (Number(seen) < BATCH_LIMIT) return total;
        }
      }),
    };
  }

  private makeLeases(): QueueStoreLeases {
    const steps = () => [this.s.prefix, this.s.sep, this.s.steps.join(',')];
    return {
      open: (id, ttlMs) => this.run('opening a worker lease', async () => {
        await this.client.celeriacLeaseOpen(1, this.key(LEASES_KEY), id, String(Math.round(ttlMs)));
      }),
      renew: (id, ttlMs) => this.run('renewing a worker lease', async () => {
        const k = this.keys();
        return (await this.client.celeriacLeaseRenew(3, this.key(LEASES_KEY), this.heldKey(id), k.index, id, String(Math.round(ttlMs)), String(Date.now() / 1000))) === 1;
      }),
      sweep: () => this.run('restoring the messages of expired worker leases', async () => {
        const k = this.keys();
        let total = 0;
        for (;;) {
          const [n, leases] = await this.client.celeriacLeaseSweep(3, this.key(LEASES_KEY), k.unacked, k.index, ...steps(), this.key(HELD_PREFIX), String(100));
          total += Number(n);
          if (Number(leases) < 100) return total;
        }
      }),
      release: (id) => this.run('releasing a worker lease', async () => {
        const k = this.keys();
        return Number(await this.client.celeriacLeaseRelease(4, this.key(LEASES_KEY), k.unacked, k.index, this.heldKey(id), ...steps(), id));
      }),
      held: (id) => this.run('reading what a worker lease holds', () => this.client.hkeys(this.heldKey(id))),
    };
  }

  /** The held hash of lease `id`. */
  private heldKey(id: string): string {
    return this.key(HELD_PREFIX + id);
  }

  /** The full (prefixed) key name. */
  key(name: string): string {
    return this.s.prefix + name;
  }

  /** The (prefixed) list holding `queue`'s messages of `priority`: `<queue>` for step 0, else `<queue>SEP<step>`. */
  listFor(queue: string, priority: number): string {
    const step = priorityStep(this.s.steps, priority);
    return this.key(step === 0 ? queue : `${queue}${this.s.sep}${step}`);
  }

  /** The pub/sub channel of a fanout exchange (or `exchange/routing_key`): `/<db>.<channel>`, prefixed. */
  channel(name: string): string {
    return this.s.prefix + (this.s.fanoutPrefix ? `/${this.config.db}.` : '') + name;
  }

  private keys() {
    return { unacked: this.key(this.s.unackedKey), index: this.key(this.s.unackedIndexKey), mutex: this.key(this.s.unackedMutexKey) };
  }

  private async run<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw redisFailure(error, this.displayUrl, doing);
    }
  }

  /**
   * LPUSH, with every message for the same list published in one event-loop turn sent as ONE `LPUSH list m1 m2 …`
   * (pushed in call order, so consumers still see FIFO): a burst of sends costs one command, not one each.
   */
  put(queue: string, raw: string, priority: number): Promise<void> {
    const list = this.listFor(queue, priority);
    return new Promise((resolve, reject) => {
      let batch = this.putBatches.get(list);
      if (!batch) {
        this.putBatches.set(list, (batch = { queue, raws: [], settle: [] }));
        if (this.putBatches.size === 1) setImmediate(() => this.flushPuts());
      }
      batch.raws.push(raw);
      batch.settle.push({ resolve, reject });
    });
  }

  private flushPuts(): void {
    const batches = [...this.putBatches];
    this.putBatches.clear();
    for (const [list, batch] of batches) {
      // In slices: a group of 200,000 tasks sent at once must not become one LPUSH with 200,000 arguments.
      for (const [i, raws] of chunks(batch.raws).entries()) {
        const settle = batch.settle.slice(i * CHUNK, i * CHUNK + raws.length);
        const replicas = this.replicas;
        this.client.lpush(list, ...raws).then(() => replicas && waitForReplicas(this.client, list, replicas)).then(
          () => settle.forEach((s) => s.resolve()),
          (error) => {
            const failure = redisFailure(error, this.displayUrl, `publishing to queue ${batch.queue}`);
            settle.forEach((s) => s.reject(failure));
          },
        );
      }
    }
  }

  private plan(queues: readonly string[]): ListPlan {
    const id = queues.join('\0');
    let plan = this.plans.get(id);
    if (!plan) {
      const lists: string[] = [];
      const names: string[] = [];
      for (const q of queues) {
        for (const step of this.s.steps) {
          lists.push(this.key(step === 0 ? q : `${q}${this.s.sep}${step}`));
          names.push(q);
        }
      }
      plan = { lists, names };
      if (this.plans.size > 1000) this.plans.clear();
      this.plans.set(id, plan);
    }
    return plan;
  }

  /** Queue order for one take: as given (priority), alphabetical (sorted), or rotating (round_robin). */
  private order(queues: readonly string[]): readonly string[] {
    if (queues.length < 2 || this.s.strategy === 'priority') return queues;
    if (this.s.strategy === 'sorted') return [...queues].sort();
    return this.rotation.get(queues.join('\0')) ?? queues;
  }

  private rotate(queues: readonly string[], served: string): void {
    if (this.s.strategy !== 'round_robin' || queues.length < 2) return;
    const id = queues.join('\0');
    const current = this.rotation.get(id) ?? [...queues];
    this.rotation.set(id, [...current.filter((q) => q !== served), served]);
  }

  async take(queues: readonly string[], options: TakeOptions): Promise<TakenMessage[]> {
    const { signal } = options;
    const max = Math.max(1, Math.floor(options.max || 1));
    const deadline = Date.now() + options.timeoutMs;
    if (queues.length === 0) {
      await sleepLong(options.timeoutMs, { signal });
      return [];
    }
    for (;;) {
      if (this.closed) return [];
      const ordered = this.order(queues);
      const taken = await this.takeNow(this.plan(ordered), max, options.holder);
      if (taken.length) {
        this.rotate(queues, taken[taken.length - 1]!.queue);
        return taken;
      }
      const left = deadline - Date.now();
      if (signal.aborted || left <= 0) return [];
      const plan = this.plan(ordered);
      await this.wait(plan.lists[0]!, plan.lists.length > 1 ? Math.min(left, this.s.recheckMs) : left, signal);
    }
  }

  private takeNow(plan: ListPlan, max: number, holder?: string): Promise<TakenMessage[]> {
    return this.run(`taking messages from ${[...new Set(plan.names)].join(', ')}`, async () => {
      const k = this.keys();
      const held = holder === undefined ? this.key(LEASES_KEY) : this.heldKey(holder);
      const reply = await this.client.celeriacTake(4 + plan.lists.length, k.unacked, k.index, this.key(LEASES_KEY), held, ...plan.lists, String(max), String(Date.now() / 1000), `${randomUUID()}.`, holder ?? '', ...plan.names);
      const leased = Number(reply[0]) === 1 ? holder : undefined;
      const taken: TakenMessage[] = [];
      for (let i = 1; i + 2 < reply.length; i += 3) {
        taken.push({ queue: plan.names[Number(reply[i]) - 1]!, raw: String(reply[i + 1]), tag: String(reply[i + 2]), holder: leased });
      }
      return taken;
    });
  }

  /** Block until `list` is non-empty, `ms` pass, or `signal` aborts, without taking anything. */
  private async wait(list: string, ms: number, signal: AbortSignal): Promise<void> {
    if (this.noBlmove) return sleepLong(Math.min(ms, 50), { signal });
    const conn = this.idle.pop() ?? this.newBlocking();
    let aborted = false;
    let onAbort!: () => void;
    const abortedPromise = new Promise<void>((resolve) => {
      onAbort = () => {
        aborted = true;
        resolve();
      };
    });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const seconds = Math.max(0.01, ms / 1000).toFixed(3);
      await Promise.race([conn.blmove(list, list, 'RIGHT', 'RIGHT', seconds), abortedPromise]);
    } catch (error) {
      if (aborted || this.closed) return;
      if (/unknown command/i.test((error as Error).message)) {
        // Redis before 6.2: no BLMOVE; poll instead.
        this.noBlmove = true;
        return;
      }
      throw redisFailure(error, this.displayUrl, `waiting for messages on ${list}`);
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (aborted || this.closed) {
        // The BLMOVE may still be pending: dropping the socket ends it now.
        this.blocking.delete(conn);
        conn.disconnect(false);
      } else {
        this.idle.push(conn);
      }
    }
  }

  private newBlocking(): Redis {
    const conn = openRedis(this.config, 'blocking', this.transportOptions);
    this.blocking.add(conn);
    return conn;
  }

  async ack(tag: string, holder?: string): Promise<boolean> {
    const key = holder ?? '';
    let batch = this.ackBatches.get(key);
    if (!batch) {
      const tags: string[] = [];
      const done = new Promise<ReadonlySet<string>>((resolve, reject) => {
        setImmediate(() => {
          this.ackBatches.delete(key);
          const k = this.keys();
          this.run(`acknowledging ${tags.length} message(s)`, async () => {
            if (holder === undefined) {
              const tx = this.client.multi();
              for (const part of chunks(tags)) tx.zrem(k.index, ...part).hdel(k.unacked, ...part);
              await tx.exec();
              return new Set<string>();
            }
            const missed = new Set<string>();
            for (const part of chunks(tags)) {
              for (const tag of await this.client.celeriacAckHeld(3, k.unacked, k.index, this.heldKey(holder), ...part)) missed.add(tag);
            }
            return missed;
          }).then(resolve, reject);
        });
      });
      this.ackBatches.set(key, (batch = { tags, done }));
    }
    batch.tags.push(tag);
    return !(await batch.done).has(tag);
  }

  requeue(tag: string, holder?: string): Promise<boolean> {
    return this.run('requeueing a message', async () => {
      const k = this.keys();
      const held = holder === undefined ? [] : [this.heldKey(holder)];
      return (await this.client.celeriacRestore(2 + held.length, k.unacked, k.index, ...held, this.s.prefix, this.s.sep, this.s.steps.join(','), tag)) === 1;
    });
  }

  restoreExpired(visibilityTimeoutMs: number): Promise<number> {
    return this.run('restoring unacknowledged messages', async () => {
      const k = this.keys();
      const cutoff = String((Date.now() - visibilityTimeoutMs) / 1000);
      let total = 0;
      for (;;) {
        const token = randomUUID().replaceAll('-', '');
        const [n, seen] = await this.client.celeriacRestoreExpired(4, k.unacked, k.index, k.mutex, this.key(LEASES_KEY), this.s.prefix, this.s.sep, this.s.steps.join(','), cutoff, String(this.s.mutexExpireMs), String(BATCH_LIMIT), token, this.key(HELD_PREFIX), String(Date.now() / 1000));
        if (Number(n) < 0) return total;
        total += Number(n);
        if (Number(seen) < BATCH_LIMIT) return total;
      }
    });
  }

  probe(): Promise<void> {
    return this.run('connecting', async () => {
      await this.client.ping();
    });
  }

  size(queue: string): Promise<number> {
    return this.run(`reading the size of queue ${queue}`, async () => {
      const lengths = await Promise.all(this.plan([queue]).lists.map((list) => this.client.llen(list)));
      return lengths.reduce((a, b) => a + b, 0);
    });
  }

  purge(queue: string): Promise<number> {
    return this.run(`purging queue ${queue}`, async () => {
      const lists = this.plan([queue]).lists;
      return Number(await this.client.celeriacPurge(lists.length, ...lists));
    });
  }

  private makeBindings(): BindingTable {
    const setKey = (exchange: string) => this.key(`_kombu.binding.${exchange}`);
    const member = (b: Binding) => `${b.routingKey}${this.s.sep}${b.pattern}${this.s.sep}${b.queue}`;
    return {
      add: (b) => this.run(`binding queue ${b.queue} to exchange ${b.exchange}`, async () => void (await this.client.sadd(setKey(b.exchange), member(b)))),
      remove: (b) => this.run(`unbinding queue ${b.queue} from exchange ${b.exchange}`, async () => void (await this.client.srem(setKey(b.exchange), member(b)))),
      list: (exchange) => this.run(`reading the bindings of exchange ${exchange}`, async () => {
        const members = await this.client.smembers(setKey(exchange));
        return members.flatMap((m) => {
          const parts = m.split(this.s.sep);
          if (parts.length < 3) return [];
          const [routingKey, pattern, ...rest] = parts;
          return [{ exchange, routingKey: routingKey!, pattern: pattern!, queue: rest.join(this.s.sep) }];
        });
      }),
    };
  }

  /** Listen to a fanout exchange: its own channel and every `exchange/<routing key>` channel. */
  private listen(exchange: string, onMessage: (raw: string) => void): Promise<() => Promise<void>> {
    return this.run(`subscribing to fanout exchange ${exchange}`, async () => {
      const channel = this.channel(exchange);
      const listener = (message: Buffer) => onMessage(message.toString('utf8'));
      const [direct, routed] = await Promise.allSettled([
        this.subscriber.subscribe(channel, listener),
        this.subscriber.psubscribe(`${escapeGlob(channel)}/*`, listener),
      ]);
      const stops = [direct, routed].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const stop = async () => void (await Promise.all(stops.map((s) => s())));
      for (const r of [direct, routed]) {
        if (r.status === 'rejected') {
          await stop();
          throw r.reason;
        }
      }
      return stop;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.ackBatches.values()].map((b) => b.done.catch(() => undefined)));
    for (const conn of this.blocking) conn.disconnect(false);
    this.blocking.clear();
    this.idle.length = 0;
    if (!this.shared) await Promise.all([closeRedis(this.client), this.subscriber.close()]);
  }
}

/** Escape Redis glob characters so an exchange name is matched literally by PSUBSCRIBE. */
function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]]/g, '\\$&');
}
