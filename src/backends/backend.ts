// The result-store contract used by AsyncResult (client) and task execution (worker). Interfaces only.

import type { IncomingMessage, OutgoingMessage, Route } from '../protocol/message.js';
import type { ResultMeta } from '../protocol/result-meta.js';
import type { Coordination } from '../drivers/coordination.js';

/** How ResultBackend.waitFor waits: an overall bound, the poll interval for backends without push, a signal. */
/** One member of a saved group, as Celery's result tuple (as_tuple); see ResultBackend.saveGroup. */
export type MemberTuple = unknown;

export interface WaitOptions {
  /** Give up after this long (TimeoutError); undefined = wait forever. */
  readonly timeoutMs?: number;
  /** Poll interval where the backend cannot push. */
  readonly intervalMs: number;
  readonly signal?: AbortSignal;
}

/** One finished chord header task, as the Redis backend keeps it in `celery-taskset-meta-<gid>.j`. */
export interface ChordPart {
  readonly index: number;
  readonly taskId: string;
  readonly state: string;
  readonly result: unknown;
}

/**
 * Where a task's result goes besides a store: the request's reply_to and correlation_id (Celery's destination_for).
 * Only rpc:// reads it; a result with no reply_to is not sent anywhere there.
 */
export interface ResultDestination {
  /** The sender's reply queue (the task message's reply_to property). */
  readonly replyTo?: string | null;
  /** The task message's correlation_id; the task id when absent. */
  readonly correlationId?: string | null;
}

/**
 * Where task results, groups and chord counters live (Celery's result backend). AsyncResult reads through it,
 * the worker writes through it. Errors: OperationalError when the store is unreachable (redacted URL),
 * DecodeError/UnsupportedEncoding for a stored document celeriac will not read.
 */
export interface ResultBackend {
  /** push = waiting clients are notified of writes (pub/sub), not polled. */
  readonly capabilities: { readonly push: boolean; readonly nativeChords: boolean };
  /** The backend URL with any password hidden. */
  readonly displayUrl: string;
  /** Shared registers and leases in the result store: beat uses them when the broker has none (RabbitMQ). */
  readonly coordination?: Coordination;
  /**
   * Store a state. Does not overwrite a stored SUCCESS (Celery's rule). The worker passes the request's
   * `destination`; backends that keep results in a store ignore it.
   */
  store(taskId: string, meta: ResultMeta, destination?: ResultDestination): Promise<void>;
  /**
   * Called by a client just before it publishes task `taskId` (Celery's on_task_call), with the ids of the chain
   * steps the message carries (their results come back to this client too). rpc:// declares its reply queue here.
   */
  onTaskCall?(taskId: string, chainIds: readonly string[]): Promise<void>;
  /** null means nothing is stored: PENDING ("unknown"). */
  get(taskId: string): Promise<ResultMeta | null>;
  /** Resolve with the first ready (SUCCESS/FAILURE/REVOKED) meta; rejects with TimeoutError. */
  waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta>;
  forget(taskId: string): Promise<void>;
  /**
   * Save a group's members (Celery's GroupResult.save): each member's result tuple (Celery's as_tuple:
   * `[[id, parent], null]` for a task, `[[id, parent], [member tuples]]` for a nested group), so restore keeps the shape.
   */
  saveGroup(groupId: string, members: readonly MemberTuple[]): Promise<void>;
  /** The member tuples of a saved group (a bare task id where an old save held only ids); null when none was saved. */
  getGroup(groupId: string): Promise<readonly MemberTuple[] | null>;
  forgetGroup(groupId: string): Promise<void>;
  /** Record how many header tasks a chord has (`.s` key on Redis). */
  setChordSize(groupId: string, size: number): Promise<void>;
  /**
   * Record one finished header task. Resolves with every part, ordered by index, exactly once: for the call that
   * completed the chord (then the chord's keys are deleted); null for every other call.
   */
  addChordPart(groupId: string, part: ChordPart): Promise<readonly ChordPart[] | null>;
  /**
   * Delete expired results now (Celery's backend.cleanup(), run by the celery.backend_cleanup task). Only
   * backends whose results do not expire by themselves have it (SQL); key-value stores expire keys.
   */
  cleanup?(): Promise<void>;
  close(): Promise<void>;
}

/** The primitives a key-value result store must supply; createKeyValueBackend builds a ResultBackend on them. */
export interface KeyValueStore {
  /** Shared registers and leases, where the store can keep them atomically (see ResultBackend.coordination). */
  readonly coordination?: Coordination;
  get(key: string): Promise<Uint8Array | null>;
  mget(keys: readonly string[]): Promise<(Uint8Array | null)[]>;
  /** Set, and notify subscribers of `key` with the same value. */
  set(key: string, value: Uint8Array, ttlMs?: number): Promise<void>;
  /**
   * set(), in one atomic step, unless the stored value is a JSON result document whose status is SUCCESS (Celery
   * never overwrites a success). Resolves false when it skipped. Optional: without it the backend reads first.
   */
  setUnlessSucceeded?(key: string, value: Uint8Array, ttlMs?: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  incr(key: string, ttlMs?: number): Promise<number>;
  /** Add to a sorted set (chord parts); returns the set's size after adding. */
  zadd(key: string, score: number, member: Uint8Array, ttlMs?: number): Promise<number>;
  zrange(key: string): Promise<Uint8Array[]>;
  /** Resolves once subscribed; `onValue` gets each value written to `key`. */
  subscribe?(key: string, onValue: (value: Uint8Array) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** What openBackend passes a BackendFactory: the URL and the app's result_* settings, already validated. */
export interface BackendOptions {
  readonly url: string;
  /** result_expires in ms (0/undefined = never). */
  readonly expiresMs?: number;
  /** result_serializer name, already validated. */
  readonly serializer: string;
  /** result_backend_transport_options / database options, passed through. */
  readonly options: Readonly<Record<string, unknown>>;
  /** result_extended: store name/args/kwargs/worker/retries/queue too. */
  readonly extended: boolean;
  /** The app's broker (rpc:// sends results through it); opened on first use. */
  readonly broker?: () => Promise<ResultBroker>;
  /** This process's reply queue name (the app's oid, the reply_to of the tasks it sends). */
  readonly replyQueue?: string;
  /** result_persistent: rpc:// result messages survive a broker restart (delivery mode 2). */
  readonly persistentResults?: boolean;
  /** How long a first connection may take, in ms (redis_socket_connect_timeout, else broker_connection_timeout). */
  readonly connectTimeoutMs?: number;
}

/**
 * The broker operations the rpc:// backend needs. The app passes its broker transport, which has them: backends
 * never import transports, so this names only what rpc uses.
 */
export interface ResultBroker {
  /** The broker URL with any password hidden. */
  readonly displayUrl: string;
  declare(queue: { readonly name: string; readonly exchange?: string; readonly durable?: boolean; readonly autoDelete?: boolean; readonly expires?: number }): Promise<void>;
  publish(message: OutgoingMessage, route: Route): Promise<void>;
  subscribe(
    queues: readonly string[],
    onDelivery: (delivery: { readonly message: IncomingMessage; readonly decodeError?: Error }) => void,
    options: { prefetch: number; noAck?: boolean },
  ): Promise<{ cancel(): Promise<void> }>;
}

/** Opens one backend for a URL; registered per scheme with registerBackend (Celery's backend aliases). */
export type BackendFactory = (options: BackendOptions) => ResultBackend | Promise<ResultBackend>;
