// rpc:// result backend (Celery's RPC backend): results are not stored, they are sent as messages to the reply
// queue of the process that sent the task (its reply_to, matched by correlation_id), on any broker: exchange '',
// routing key = reply_to, body {task_id, status, result, traceback, children}, transient unless result_persistent
// (AMQP-WIRE.md §5). The sending process declares its reply queue (named by its oid) before it publishes, and
// reads it with no acks, so each result is delivered once, to that process only.
//
// Limits (Celery's, made explicit): only the sender can read a result (ResultUnavailable elsewhere); a ready
// result is handed out once (keep the AsyncResult that read it: it caches the value); groups cannot be saved or
// restored and chords are refused before anything is sent.

import { ImproperlyConfigured, ResultUnavailable, TimeoutError } from '../errors.js';
import type { IncomingMessage } from '../protocol/message.js';
import type { ResultMeta } from '../protocol/result-meta.js';
import { acceptSet, decode, encode } from '../protocol/serializers.js';
import { READY_STATES } from '../states.js';
import { setLongTimeout, type LongTimer } from '../utils/long-timer.js';
import type { BackendFactory, BackendOptions, MemberTuple, ResultBackend, ResultBroker, ResultDestination, WaitOptions } from './backend.js';

/** Results received and not yet read; past this the oldest are dropped (a client that never reads must not grow). */
const MAX_BUFFERED = 10_000;
/** Task ids this process expects results for (sent, or chain steps it built); past this the oldest are forgotten. */
const MAX_TRACKED = 100_000;
/** The reply queue is declared again at most this often (each declare also resets its x-expires idle timer). */
const REDECLARE_MS = 60_000;
const anySerializer = acceptSet(['json', 'msgpack', 'yaml', 'auth']);
const STORES = 'redis://, db+postgresql://, db+sqlite://, cache+memcached:// or file://';

/** A Set that forgets its oldest members past `limit`. */
class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly limit: number) {}
  add(item: string): void {
    this.items.delete(item);
    this.items.add(item);
    if (this.items.size > this.limit) this.items.delete(this.items.values().next().value!);
  }
  has(item: string): boolean {
    return this.items.has(item);
  }
  delete(item: string): void {
    this.items.delete(item);
  }
}

type Waiter = { resolve(meta: ResultMeta): void; reject(error: Error): void };

/** The rpc:// backend of one app: publishes results (worker side) and receives its own (client side). */
export class RpcBackend implements ResultBackend {
  readonly capabilities = { push: true, nativeChords: false } as const;
  readonly displayUrl = 'rpc://';
  private readonly buffered = new Map<string, ResultMeta>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly expected = new BoundedSet(MAX_TRACKED);
  private readonly delivered = new BoundedSet(MAX_TRACKED);
  private consumer?: Promise<{ cancel(): Promise<void> }>;
  private declaring?: Promise<void>;
  private declaredAt = -Infinity;
  private closed = false;

  constructor(private readonly broker: () => Promise<ResultBroker>, private readonly replyQueue: string, private readonly options: BackendOptions) {}

  async onTaskCall(taskId: string, chainIds: readonly string[]): Promise<void> {
    this.expected.add(taskId);
    for (const id of chainIds) this.expected.add(id);
    if (Date.now() - this.declaredAt >= REDECLARE_MS) await this.declare();
  }

  /** Declare the reply queue as Celery does: transient, auto-delete, x-expires = result_expires; no binding. */
  private declare(): Promise<void> {
    this.declaring ??= (async () => {
      const broker = await this.broker();
      const expires = this.options.expiresMs ? this.options.expiresMs / 1000 : undefined;
      await broker.declare({ name: this.replyQueue, exchange: '', durable: false, autoDelete: true, ...(expires ? { expires } : {}) });
      this.declaredAt = Date.now();
    })().finally(() => {
      this.declaring = undefined;
    });
    return this.declaring;
  }

  async store(taskId: string, meta: ResultMeta, destination?: ResultDestination): Promise<void> {
    const replyTo = destination?.replyTo;
    // As Celery: a task sent without reply_to (by a client with no reply queue) has nowhere to send its result.
    if (!replyTo) return;
    const body = { task_id: taskId, status: meta.status, result: meta.result, traceback: meta.traceback, children: meta.children };
    const encoded = encode(body, this.options.serializer);
    const broker = await this.broker();
    await broker.publish({
      body: encoded.body,
      contentType: encoded.contentType,
      contentEncoding: encoded.contentEncoding,
      headers: {},
      properties: { correlation_id: destination.correlationId || taskId, delivery_mode: this.options.persistentResults ? 2 : 1, priority: 0 },
    }, { exchange: '', routingKey: replyTo });
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    this.checkReadable(taskId);
    await this.consume();
    const meta = this.buffered.get(taskId) ?? null;
    if (meta && READY_STATES.has(meta.status)) this.handOut(taskId);
    return meta;
  }

  async waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta> {
    this.checkReadable(taskId);
    await this.consume();
    const ready = this.buffered.get(taskId);
    if (ready && READY_STATES.has(ready.status)) {
      this.handOut(taskId);
      return ready;
    }
    return new Promise<ResultMeta>((resolve, reject) => {
      let timer: LongTimer | undefined;
      const done = () => {
        timer?.cancel();
        options.signal?.removeEventListener('abort', onAbort);
        const set = this.waiters.get(taskId);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(taskId);
      };
      const waiter: Waiter = {
        resolve: (meta) => (done(), resolve(meta)),
        reject: (error) => (done(), reject(error)),
      };
      const onAbort = () => waiter.reject(options.signal?.reason ?? new TimeoutError(`Waiting for task ${taskId} was aborted.`, { context: { taskId } }));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = setLongTimeout(() => waiter.reject(new TimeoutError(`The result of task ${taskId} was not ready within ${(options.timeoutMs ?? 0) / 1000} s (backend rpc:// on ${this.replyQueue}). Is a worker consuming its queue?`, { context: { taskId } })), options.timeoutMs);
      }
      let set = this.waiters.get(taskId);
      if (!set) this.waiters.set(taskId, (set = new Set()));
      set.add(waiter);
    });
  }

  async forget(taskId: string): Promise<void> {
    this.buffered.delete(taskId);
    this.delivered.delete(taskId);
  }

  saveGroup(): Promise<void> {
    return Promise.reject(unsupported('save a group result (GroupResult.save)'));
  }

  getGroup(): Promise<readonly MemberTuple[] | null> {
    return Promise.reject(unsupported('restore a saved group result (GroupResult.restore)'));
  }

  async forgetGroup(): Promise<void> {
    // Nothing is stored for a group; forgetting its members happens through forget().
  }

  setChordSize(): Promise<void> {
    return Promise.reject(new ImproperlyConfigured(`The rpc:// result backend does not support chords (nor a group chained to a task, which Celery turns into a chord): the header's results go to the client, so no worker could count them. Nothing was sent. Use a backend that stores results: ${STORES}.`));
  }

  addChordPart(): Promise<null> {
    return Promise.reject(unsupported('count chord parts'));
  }

  async close(): Promise<void> {
    this.closed = true;
    const consumer = this.consumer;
    this.consumer = undefined;
    for (const [taskId, set] of [...this.waiters]) {
      for (const waiter of [...set]) waiter.reject(new ResultUnavailable(`The rpc:// backend was closed while waiting for task ${taskId}.`, { context: { taskId } }));
    }
    await (await consumer?.catch(() => null))?.cancel().catch(() => undefined);
  }

  /** Explain, instead of waiting forever, why a result can never arrive here. */
  private checkReadable(taskId: string): void {
    if (this.buffered.has(taskId) || this.expected.has(taskId)) return;
    if (this.delivered.has(taskId)) {
      throw new ResultUnavailable(`The result of task ${taskId} was already read in this process: rpc:// delivers each result once. Keep the AsyncResult that read it (it keeps the value), or use a backend that stores results: ${STORES}.`, { context: { taskId } });
    }
    throw new ResultUnavailable(`Task ${taskId} was not sent by this process (or so long ago that it is no longer tracked): with rpc:// a result is sent only to the process that sent the task, so no other process can read it. Read it there, or use a backend that stores results: ${STORES}.`, { context: { taskId } });
  }

  /** A ready result leaves the buffer once read: the reply queue gave it to this process once. */
  private handOut(taskId: string): void {
    this.buffered.delete(taskId);
    this.expected.delete(taskId);
    this.delivered.add(taskId);
  }

  /** Start consuming the reply queue (once): declare it, then take every message with no acks. */
  private consume(): Promise<unknown> {
    if (this.closed) return Promise.reject(new ResultUnavailable('The rpc:// backend is closed.'));
    this.consumer ??= (async () => {
      await this.declare();
      const broker = await this.broker();
      return broker.subscribe([this.replyQueue], (delivery) => {
        if (!delivery.decodeError) this.receive(delivery.message);
      }, { prefetch: 0, noAck: true });
    })().catch((error) => {
      this.consumer = undefined;
      throw error;
    });
    return this.consumer;
  }

  private receive(message: IncomingMessage): void {
    const correlationId = typeof message.properties.correlation_id === 'string' ? message.properties.correlation_id : undefined;
    let meta: ResultMeta;
    try {
      meta = toMeta(decode({ body: message.body, contentType: message.contentType }, anySerializer, `rpc result ${correlationId ?? ''}`.trim()), correlationId);
    } catch (error) {
      // A reply nobody can read fails its waiters with the reason; one for nobody is dropped (it was consumed).
      for (const waiter of [...(correlationId ? this.waiters.get(correlationId) ?? [] : [])]) waiter.reject(error as Error);
      return;
    }
    const taskId = meta.task_id;
    const previous = this.buffered.get(taskId);
    // A late non-ready state (a redelivered task's STARTED) never replaces a ready one.
    if (previous && READY_STATES.has(previous.status) && !READY_STATES.has(meta.status)) return;
    const waiting = this.waiters.get(taskId);
    if (waiting && READY_STATES.has(meta.status)) {
      this.buffered.delete(taskId);
      this.handOut(taskId);
      for (const waiter of [...waiting]) waiter.resolve(meta);
      return;
    }
    this.buffered.delete(taskId);
    this.buffered.set(taskId, meta);
    if (this.buffered.size > MAX_BUFFERED) this.buffered.delete(this.buffered.keys().next().value!);
  }
}

/** A result message body as a ResultMeta (no date_done: the rpc backend does not send one). */
function toMeta(doc: unknown, correlationId: string | undefined): ResultMeta {
  const body = doc as Partial<ResultMeta> | null;
  const taskId = correlationId ?? (typeof body?.task_id === 'string' ? body.task_id : undefined);
  if (!body || typeof body !== 'object' || typeof body.status !== 'string' || !taskId) {
    throw new ResultUnavailable(`An rpc:// reply${taskId ? ` for task ${taskId}` : ''} is not a Celery result message (it needs a status and a task id).`, taskId ? { context: { taskId } } : {});
  }
  return { status: body.status, result: body.result ?? null, traceback: body.traceback ?? null, children: body.children ?? [], date_done: null, task_id: taskId };
}

function unsupported(what: string): ImproperlyConfigured {
  return new ImproperlyConfigured(`The rpc:// result backend cannot ${what}: it stores nothing, it only sends each result to the process that sent the task. Use a backend that stores results: ${STORES}.`);
}

export const createBackend: BackendFactory = (options) => {
  if (!options.broker || !options.replyQueue) {
    throw new ImproperlyConfigured('result_backend rpc:// sends results through the broker, but no broker was given: open it through an app (new Celery(name, { broker, backend: "rpc://" })).');
  }
  return new RpcBackend(options.broker, options.replyQueue, options);
};
