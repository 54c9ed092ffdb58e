// What a non-AMQP broker must supply: a few storage primitives. The virtual layer builds exchanges,
// routing, prefetch, acks and redelivery over them (kombu's virtual transport, with atomic take and restore).

import type { Coordination } from '../../drivers/coordination.js';

/** A message taken from a queue and held as unacked until ack/requeue. */
export interface TakenMessage {
  /** The queue it was taken from (not the priority sub-list). */
  readonly queue: string;
  /** The kombu JSON envelope exactly as stored. */
  readonly raw: string;
  /** Identifies the held message for ack/requeue/defer. Redis uses the envelope's delivery_tag. */
  readonly tag: string;
  /**
   * The lease it is held under (TakeOptions.holder), so settles pass it back; absent when taken without one, or when
   * that lease was already gone (then only the visibility timeout returns it, as for a Python worker's message).
   */
  readonly holder?: string;
}

/** A binding of an exchange to a queue: kombu's `_kombu.binding.<exchange>` member (routing_key, pattern, queue). */
export interface Binding {
  readonly exchange: string;
  readonly routingKey: string;
  readonly pattern: string;
  readonly queue: string;
}

/** The exchange → queue routing table, stored with the broker so every process sees the same bindings. */
export interface BindingTable {
  add(binding: Binding): Promise<void>;
  remove(binding: Binding): Promise<void>;
  list(exchange: string): Promise<readonly Binding[]>;
}

/** How QueueStore.take waits and how much it takes. */
export interface TakeOptions {
  /** How long to block when every queue is empty; 0 = do not wait. */
  readonly timeoutMs: number;
  /** Aborting ends the wait early with an empty result. */
  readonly signal: AbortSignal;
  /** Take up to this many messages at once (the free prefetch window); at least 1. */
  readonly max: number;
  /** Hold what is taken under this lease (QueueStore.leases); absent = held under the visibility timeout only. */
  readonly holder?: string;
}

/**
 * Liveness leases (celeriac's, beyond kombu): a consumer opens a lease and renews it while it lives; what it takes
 * is held under the lease, never restored by the visibility timeout while the lease is renewed, and restored within
 * the lease's time to live once it stops being renewed (the consumer died). Expiry is judged on the store's clock
 * where it has one (Redis TIME, PostgreSQL's clock). Ids are unique and never reused: a lease that was swept
 * stays gone, so a settle under it can never touch a later delivery of the same message.
 */
export interface QueueStoreLeases {
  /** Create lease `id`, valid for `ttlMs` from now. */
  open(id: string, ttlMs: number): Promise<void>;
  /**
   * Extend lease `id` to `ttlMs` from now (also when it expired but was not swept yet), and keep what it holds fresh
   * for visibility-timeout sweeps (kombu's included). False when the lease is gone: what it held was restored.
   */
  renew(id: string, ttlMs: number): Promise<boolean>;
  /** Restore what every expired (or vanished) lease holds to its queue, marked redelivered, and drop those leases; returns how many messages. */
  sweep(): Promise<number>;
  /** Restore what lease `id` still holds and drop it (a consumer stopping); returns how many messages. */
  release(id: string): Promise<number>;
  /** Delivery tags of the messages lease `id` holds now (its owner compares them with what it was given). */
  held(id: string): Promise<string[]>;
}

/**
 * All a non-AMQP broker must supply (kombu's virtual Channel _get/_put, plus atomic unacked bookkeeping):
 * createVirtualTransport builds exchanges, bindings, prefetch, acks and redelivery on top. Methods reject
 * with OperationalError (redacted URL) when the store is unreachable.
 */
export interface QueueStore {
  /** Shared registers and leases kept in the broker (beat's leader election and run claims); absent where it has none. */
  readonly coordination?: Coordination;
  /** Consumer liveness leases; absent where the store has none (its held messages follow the visibility timeout). */
  readonly leases?: QueueStoreLeases;
  /** Append a message. `priority` is the message's priority (0–255); stores that emulate priorities map it to steps. */
  put(queue: string, raw: string, priority: number): Promise<void>;
  /**
   * Pop up to `max` messages from the first non-empty queue(s), in the order given, and record them as unacked in the
   * same atomic step: a process that dies right after take loses nothing (the restore sweep brings them back).
   * Resolves [] on timeout or abort.
   */
  take(queues: readonly string[], options: TakeOptions): Promise<TakenMessage[]>;
  /**
   * Forget an unacked message: it is done. With `holder` (the TakenMessage's), only if that lease still holds it:
   * resolves false when it does not (the lease expired and the message was restored for another delivery).
   */
  ack(tag: string, holder?: string): Promise<boolean | void>;
  /** Put an unacked message back at the head of its queue, marked redelivered; `holder` and the result as for ack. */
  requeue(tag: string, holder?: string): Promise<boolean | void>;
  /**
   * Return every unacked message older than the timeout to its queue (kombu's visibility timeout), except messages
   * held under a lease (they follow the lease); returns how many.
   */
  restoreExpired(visibilityTimeoutMs: number): Promise<number>;
  /** Number of waiting (not unacked) messages. */
  size(queue: string): Promise<number>;
  /** Prove the server answers (first connection included), failing in the store's words "while connecting". */
  probe?(): Promise<void>;
  /** Delete waiting messages; returns how many. */
  purge(queue: string): Promise<number>;
  readonly bindings: BindingTable;
  /** Fanout delivery for control and events; absent where the store cannot broadcast. */
  readonly broadcast?: {
    publish(channel: string, raw: string): Promise<void>;
    /** Resolves once the listener is active; the returned function stops it. */
    listen(channel: string, onMessage: (raw: string) => void): Promise<() => Promise<void>>;
  };
  /**
   * Move an unacked message to a delayed set until `dueAt` (epoch ms), atomically; due messages are returned to their
   * queue by `releaseDue`. Present only where the store supports it (Delivery.defer).
   */
  readonly deferral?: {
    /** `holder` and the result as for ack. */
    defer(tag: string, dueAt: number, holder?: string): Promise<boolean | void>;
    /** Move messages whose time has come back to their queues; returns how many. */
    releaseDue(now: number): Promise<number>;
  };
  close(): Promise<void>;
}
