// amqp://, amqps://, pyamqp://: native AMQP 0-9-1 on amqplib. RabbitMQ does the exchanges, bindings, priorities,
// prefetch and redelivery itself; this module maps messages (codec.ts), confirms every publish, and survives
// connection loss: reconnect with backoff, replay every declaration, re-subscribe every live subscription.
//
// Channels: one confirm channel for publishing, one plain channel for declare/purge/size (a channel error there,
// e.g. 406 on an inequivalent queue, must not take publishing down), one channel per subscription with
// basic.qos(prefetch, global=true) as Celery sends it.

import { EventEmitter } from 'node:events';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { redactText } from '../../config/urls.js';
import { NETWORK_ERROR_CODES } from '../../drivers/network-errors.js';
import { ImproperlyConfigured, OperationalError } from '../../errors.js';
import { backoffMs, sleep } from '../../utils/backoff.js';
import type {
  Delivery, ExchangeType, OutgoingMessage, QueueDeclaration, Route, SubscribeOptions, Subscription, Transport,
  TransportCapabilities, TransportEvent, TransportFactory, TransportOptions,
} from '../transport.js';
import { int32, toIncoming, toPublishOptions, type RawMessage } from './codec.js';
import { connectPlan, type AmqpEndpoint, type ConnectPlan } from './connection-options.js';

/** Exchanges Celery declares with fixed settings (AMQP-WIRE.md §1): declaring them otherwise is a 406. */
const WELL_KNOWN: Readonly<Record<string, { type: ExchangeType; durable: boolean }>> = {
  celery: { type: 'direct', durable: true },
  'celery.pidbox': { type: 'fanout', durable: false },
  'reply.celery.pidbox': { type: 'direct', durable: false },
  celeryev: { type: 'topic', durable: true },
};

/** AMQP reply codes that close the whole connection (connection-forced, frame errors …): worth a reconnect. */
const CONNECTION_REPLY_CODES = new Set([320, 501, 502, 503, 504, 505, 506, 530, 540, 541]);
const CLOSED_TEXT = /channel closed|connection closed|channel ended|socket closed|unexpected close|heartbeat timeout|connection ended/i;

/** A channel-level refusal by the broker (404 no such exchange, 403, 406 …): not cured by reconnecting. */
export class AmqpChannelError extends OperationalError {
  constructor(message: string, readonly replyCode: number, options: { cause?: unknown; context?: { url?: string; queue?: string } } = {}) {
    super(message, options);
  }
}

function replyCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The operation failed because the connection or channel went away (not because the broker refused it). */
function isConnectionLoss(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === 'string') return NETWORK_ERROR_CODES.has(e.code);
  if (typeof e.code === 'number') return CONNECTION_REPLY_CODES.has(e.code);
  return e.name === 'IllegalOperationError' || (typeof e.message === 'string' && CLOSED_TEXT.test(e.message));
}

function errorText(error: unknown): string {
  return redactText(error instanceof Error ? error.message : String(error));
}

/** One live AMQP connection and the channels the transport keeps on it. */
interface Conn {
  readonly gen: number;
  readonly model: ChannelModel;
  readonly endpoint: AmqpEndpoint;
  closed: boolean;
  /** Set once declarations and subscriptions have been replayed: only then may publishing and declaring use it. */
  ready: boolean;
  publisher?: Promise<ConfirmChannel>;
  admin?: Promise<Channel>;
  /** Declaration keys and exchange names declared on this connection (the no-op cache). */
  readonly declared: Set<string>;
  readonly exchanges: Set<string>;
}

const channelErrors = new WeakMap<object, Error>();

class AmqpTransport extends EventEmitter implements Transport {
  readonly capabilities: TransportCapabilities = { fanout: true, topic: true, priority: true, redelivery: true, deferredDelivery: false };
  readonly displayUrl: string;
  private readonly plan: ConnectPlan;
  /** How long an operation waits for a lost connection to come back before failing. */
  private readonly waitMs: number;
  private conn: Conn | null = null;
  private gen = 0;
  private endpointIndex = 0;
  private closing = false;
  private readonly closeController = new AbortController();
  private connecting: Promise<void> | null = null;
  private everConnected = false;
  private readonly declarations = new Map<string, QueueDeclaration>();
  readonly subscriptions = new Set<AmqpSubscription>();
  private readyWaiters = new Set<() => void>();
  private readonly reattaching = new Set<AmqpSubscription>();

  constructor(private readonly options: TransportOptions) {
    super();
    this.plan = connectPlan(options);
    this.displayUrl = this.plan.endpoints.map((e) => e.redacted).join(';');
    const t = options.transportOptions ?? {};
    const configured = Number(t.max_wait_for_connection ?? NaN) * 1000;
    this.waitMs = Number.isFinite(configured) && configured > 0 ? configured : Math.max(10_000, options.connectTimeoutMs ?? 0);
    // An 'error' event without listeners would throw; transports report, callers decide.
    this.on('error', () => {});
  }

  // ---- connection lifecycle ------------------------------------------------------------------------------------

  async connect(signal?: AbortSignal): Promise<void> {
    if (this.closing) throw this.closedError();
    if (this.conn?.ready) return;
    if (!this.connecting) {
      this.connecting = (this.everConnected ? this.reconnectLoop() : this.firstConnect()).finally(() => {
        this.connecting = null;
      });
    }
    if (!signal) return this.connecting;
    await Promise.race([
      this.connecting,
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    ]);
  }

  /** The first connection: every failover URL once; failing, an error that says what to check. */
  private async firstConnect(): Promise<void> {
    let last: unknown;
    for (let i = 0; i < this.plan.endpoints.length; i++) {
      try {
        await this.establish();
        this.everConnected = true;
        return;
      } catch (error) {
        last = error;
        if (this.closing) throw this.closedError();
        if (!this.isRecoverable(error)) throw error;
      }
    }
    if (this.plan.endpoints.length === 1 && last instanceof OperationalError) throw last;
    throw new OperationalError(
      `Cannot connect to any broker of ${this.displayUrl}: ${errorText(last)}`,
      { cause: last, context: { url: this.displayUrl } },
    );
  }

  /** After a loss: retry with capped exponential backoff until connected or closed. */
  private async reconnectLoop(): Promise<void> {
    for (let attempt = 0; !this.closing; attempt++) {
      try {
        await this.establish();
        this.emit('connected');
        return;
      } catch (error) {
        if (this.closing) break;
        const delay = backoffMs(attempt, 100, 5_000);
        // Quiet for the first quick retries; then say why, about once per delay (Celery logs every attempt).
        if (delay >= 1_000) {
          this.emit('error', new OperationalError(`Cannot reconnect to the broker at ${this.displayUrl} (${errorText(error)}); trying again in ${(delay / 1000).toFixed(1)} s.`, { cause: error, context: { url: this.displayUrl } }));
        }
        await sleep(delay, this.closeController.signal);
      }
    }
    throw this.closedError();
  }

  /** Open a connection to the next endpoint, replay declarations, re-subscribe, then mark it ready. */
  private async establish(): Promise<void> {
    const endpoint = this.plan.endpoints[this.endpointIndex % this.plan.endpoints.length]!;
    this.endpointIndex++;
    let model: ChannelModel;
    try {
      model = await amqp.connect(endpoint, this.plan.socketOptions);
    } catch (error) {
      throw this.connectionError(error, endpoint);
    }
    if (this.closing) {
      await model.close().catch(() => {});
      throw this.closedError();
    }
    const conn: Conn = { gen: ++this.gen, model, endpoint, closed: false, ready: false, declared: new Set(), exchanges: new Set() };
    model.on('error', (error: unknown) => {
      channelErrors.set(model, error as Error);
    });
    model.on('close', () => this.onConnectionClosed(conn, channelErrors.get(model)));
    model.on('blocked', (reason: unknown) => this.emit('error', new OperationalError(`The broker at ${this.displayUrl} blocked publishing (${String(reason)}): it is low on memory or disk. Publishes wait until it recovers.`)));
    this.conn = conn;
    const failed: AmqpSubscription[] = [];
    try {
      for (const declaration of [...this.declarations.values()]) {
        try {
          await this.declareOn(conn, declaration);
        } catch (error) {
          if (conn.closed || isConnectionLoss(error)) throw error;
          this.emit('error', error);
        }
      }
      for (const sub of [...this.subscriptions]) {
        try {
          await sub.attach(conn);
        } catch (error) {
          if (conn.closed || isConnectionLoss(error)) throw error;
          // e.g. its queue is gone and we never declared it: keep the connection, retry that one with backoff.
          failed.push(sub);
        }
      }
      if (conn.closed) throw new OperationalError(`The connection to ${this.displayUrl} closed while it was being set up.`);
    } catch (error) {
      if (!conn.closed) {
        conn.closed = true;
        if (this.conn === conn) this.conn = null;
        await model.close().catch(() => {});
      }
      throw error;
    }
    conn.ready = true;
    for (const wake of [...this.readyWaiters]) wake();
    for (const sub of failed) void this.reattach(sub);
  }

  private onConnectionClosed(conn: Conn, error: Error | undefined): void {
    const wasReady = conn.ready;
    conn.closed = true;
    conn.ready = false;
    // Only the current connection's loss matters; establish() handles one that dies while being set up.
    if (this.conn !== conn) return;
    this.conn = null;
    if (this.closing || !wasReady) return;
    this.emit('disconnected', error ?? new OperationalError(`The connection to the broker at ${this.displayUrl} closed.`));
    if (!this.connecting) {
      this.connecting = this.reconnectLoop().catch(() => {}).finally(() => {
        this.connecting = null;
      });
    }
  }

  /** A ready connection, waiting (bounded) for a reconnect when there is none. */
  private async ready(deadline: number): Promise<Conn> {
    for (;;) {
      if (this.closing) throw this.closedError();
      const conn = this.conn;
      if (conn?.ready && !conn.closed) return conn;
      if (!this.connecting) {
        // Never connected (or the first attempt failed): connect now; its error says what is wrong.
        if (!this.everConnected) await this.connect();
        else this.connecting = this.reconnectLoop().catch(() => {}).finally(() => { this.connecting = null; });
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new OperationalError(
          `Not connected to the broker at ${this.displayUrl}: still reconnecting after ${Math.round(this.waitMs / 1000)} s. Check that RabbitMQ is running and reachable; the operation can be retried.`,
          { context: { url: this.displayUrl } },
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.readyWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 250));
        this.readyWaiters.add(done);
      });
    }
  }

  /**
   * Run `op` on a ready connection. When the connection dies under it, wait for the reconnect and run it again
   * (bounded by waitMs); channel-level refusals are turned into AmqpChannelError and thrown.
   */
  private async withConnection<T>(what: string, op: (conn: Conn) => Promise<T>, context: { queue?: string } = {}): Promise<T> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const conn = await this.ready(deadline);
      try {
        return await op(conn);
      } catch (error) {
        // Let amqplib finish tearing down, so conn.closed tells a dead connection from a refused operation.
        await new Promise((r) => setImmediate(r));
        if (error instanceof AmqpChannelError || error instanceof ImproperlyConfigured) throw error;
        const code = replyCodeOf(error);
        if (code !== undefined && !CONNECTION_REPLY_CODES.has(code)) throw this.channelError(what, error, code, context);
        if (conn.closed || isConnectionLoss(error)) {
          if (this.closing) throw this.closedError();
          if (Date.now() >= deadline) {
            throw new OperationalError(`Could not ${what} on ${this.displayUrl}: the connection was lost (${errorText(error)}) and did not come back within ${Math.round(this.waitMs / 1000)} s. Check that RabbitMQ is running; the operation can be retried.`, { cause: error, context: { url: this.displayUrl, ...context } });
          }
          continue;
        }
        throw error;
      }
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.closeController.abort();
    for (const wake of [...this.readyWaiters]) wake();
    const conn = this.conn;
    this.conn = null;
    for (const sub of [...this.subscriptions]) sub.detach();
    this.subscriptions.clear();
    if (conn && !conn.closed) {
      conn.closed = true;
      await conn.model.close().catch(() => {});
    }
    await this.connecting?.catch(() => {});
  }

  // ---- channels ------------------------------------------------------------------------------------------------

  private publisher(conn: Conn): Promise<ConfirmChannel> {
    return this.sharedChannel(conn, 'publisher', () => conn.model.createConfirmChannel());
  }

  private admin(conn: Conn): Promise<Channel> {
    return this.sharedChannel(conn, 'admin', () => conn.model.createChannel());
  }

  /** The connection's channel in `slot`, opened on first use and forgotten when it closes or fails to open. */
  private sharedChannel<K extends 'publisher' | 'admin'>(conn: Conn, slot: K, open: () => Promise<Awaited<NonNullable<Conn[K]>>>): NonNullable<Conn[K]> {
    const current = conn[slot];
    if (current) return current as NonNullable<Conn[K]>;
    const p = open().then((ch) => {
      ch.on('error', (e: Error) => channelErrors.set(ch, e));
      ch.on('close', () => {
        if (conn[slot] === p) conn[slot] = undefined;
      });
      return ch;
    });
    p.catch(() => {
      if (conn[slot] === p) conn[slot] = undefined;
    });
    conn[slot] = p as Conn[K];
    return p as NonNullable<Conn[K]>;
  }

  /** A fresh channel for a subscription. */
  async openChannel(conn: Conn): Promise<Channel> {
    const ch = await conn.model.createChannel();
    ch.on('error', (e: Error) => channelErrors.set(ch, e));
    return ch;
  }

  // ---- declare -------------------------------------------------------------------------------------------------

  async declare(declaration: QueueDeclaration): Promise<void> {
    const key = declarationKey(declaration);
    await this.withConnection(`declare queue ${declaration.name}`, async (conn) => {
      await this.declareOn(conn, declaration);
    }, { queue: declaration.name });
    // Remembered only once the broker accepted it, so a refused declaration is not replayed after reconnects.
    this.declarations.delete(key);
    this.declarations.set(key, declaration);
  }

  /** The remembered declaration of a queue (for re-creating it when the broker deleted it under a consumer). */
  declarationOf(queue: string): QueueDeclaration | undefined {
    let found: QueueDeclaration | undefined;
    for (const d of this.declarations.values()) if (d.name === queue) found = d;
    return found;
  }

  /** exchange.declare + queue.declare + queue.bind on this connection, with Celery's arguments and types. */
  async declareOn(conn: Conn, d: QueueDeclaration, force = false): Promise<void> {
    const key = declarationKey(d);
    // As kombu: queues that can vanish on their own (auto-delete, x-expires) are declared every time, so a reply
    // queue deleted since is back before a publish to it; the others once per connection.
    const cacheable = !d.autoDelete && (d.expires === undefined || d.expires === null);
    if (!force && cacheable && conn.declared.has(key)) return;
    const exchange = d.exchange ?? d.name;
    const routingKey = d.routingKey ?? d.name;
    if (exchange !== '') await this.ensureExchange(conn, exchange, d.exchangeType ?? WELL_KNOWN[exchange]?.type ?? 'direct');
    const args: Record<string, unknown> = {};
    // Celery sends both as signed 32-bit ints (I): send the same bytes (amqplib alone would pick a byte or a short).
    if (d.maxPriority !== undefined && d.maxPriority !== null) args['x-max-priority'] = int32(Math.trunc(d.maxPriority));
    if (d.expires !== undefined && d.expires !== null) args['x-expires'] = int32(Math.round(d.expires * 1000));
    const admin = await this.admin(conn);
    try {
      await admin.assertQueue(d.name, { durable: d.durable ?? true, autoDelete: d.autoDelete ?? false, exclusive: false, arguments: args });
      if (exchange !== '') await admin.bindQueue(d.name, exchange, routingKey);
    } catch (error) {
      const code = replyCodeOf(error);
      if (code === 406) {
        throw new ImproperlyConfigured(
          `Queue ${d.name} already exists on ${this.displayUrl} with other settings: ${errorText(error)}. Declare it with the same settings everywhere (task_queue_max_priority, queue arguments), or delete the queue.`,
          { cause: error, context: { queue: d.name, url: this.displayUrl } },
        );
      }
      if (code !== undefined && !CONNECTION_REPLY_CODES.has(code)) throw this.channelError(`declare queue ${d.name}`, error, code, { queue: d.name });
      throw error;
    }
    conn.declared.add(key);
  }

  /** Declare an exchange once per connection; one that exists with other settings is used as it is. */
  private async ensureExchange(conn: Conn, exchange: string, type: ExchangeType): Promise<void> {
    if (conn.exchanges.has(exchange)) return;
    const durable = WELL_KNOWN[exchange]?.durable ?? true;
    try {
      await (await this.admin(conn)).assertExchange(exchange, type, { durable, autoDelete: false, internal: false });
    } catch (error) {
      const code = replyCodeOf(error);
      if (code !== 406 && code !== 403) throw error;
      // It exists with another type or durability (declared by someone else): routing still works through it.
      await new Promise((r) => setImmediate(r));
      try {
        await (await this.admin(conn)).checkExchange(exchange);
      } catch (inner) {
        const innerCode = replyCodeOf(inner);
        if (innerCode !== undefined && !CONNECTION_REPLY_CODES.has(innerCode)) throw this.channelError(`declare exchange ${exchange}`, error, code);
        throw inner;
      }
      this.emit('error', new OperationalError(`Exchange ${exchange} exists on ${this.displayUrl} with other settings than ${type}/${durable ? 'durable' : 'transient'} (${errorText(error)}); using it as it is.`));
    }
    conn.exchanges.add(exchange);
  }

  // ---- publish -------------------------------------------------------------------------------------------------

  async publish(message: OutgoingMessage, route: Route): Promise<void> {
    const options = toPublishOptions(message, route);
    const b = message.body;
    const body = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    await this.withConnection(`publish to exchange '${route.exchange}' with routing key '${route.routingKey}'`, async (conn) => {
      // Control and event exchanges may be published to before any consumer declared them (kombu declares them too).
      const known = WELL_KNOWN[route.exchange];
      if (known) await this.ensureExchange(conn, route.exchange, known.type);
      else if (route.exchange !== '' && !conn.exchanges.has(route.exchange)) {
        // A publish to a missing exchange would close the publishing channel, failing other publishes in flight
        // with it: check it once per connection on the admin channel instead.
        await (await this.admin(conn)).checkExchange(route.exchange);
        conn.exchanges.add(route.exchange);
      }
      const ch = await this.publisher(conn);
      await new Promise<void>((resolve, reject) => {
        try {
          ch.publish(route.exchange, route.routingKey, body, options, (err) => {
            if (!err) return resolve();
            const channelError = channelErrors.get(ch);
            if (channelError) return reject(channelError);
            if (/nack/i.test(err.message)) {
              return reject(new OperationalError(`The broker at ${this.displayUrl} refused (nacked) a message for exchange '${route.exchange}', routing key '${route.routingKey}'. Retry the publish.`, { context: { url: this.displayUrl } }));
            }
            reject(err);
          });
        } catch (error) {
          // An encoding failure leaves amqplib's confirm bookkeeping one off: retire this channel.
          conn.publisher = undefined;
          void ch.close().catch(() => {});
          reject(error);
        }
      });
    });
  }

  // ---- subscribe -----------------------------------------------------------------------------------------------

  async subscribe(queues: readonly string[], onDelivery: (delivery: Delivery) => void, options: SubscribeOptions): Promise<Subscription> {
    const sub = new AmqpSubscription(this, [...queues], onDelivery, options);
    // Registered before consuming, so a reconnect racing this call attaches it too (attach is once per connection).
    this.subscriptions.add(sub);
    try {
      await this.withConnection(`consume from ${queues.join(', ')}`, (conn) => sub.attach(conn), { queue: queues[0] });
    } catch (error) {
      this.subscriptions.delete(sub);
      await sub.cancel().catch(() => {});
      throw error;
    }
    return sub;
  }

  /** Re-attach one subscription after its channel died under a live connection. */
  async reattach(sub: AmqpSubscription): Promise<void> {
    if (this.reattaching.has(sub)) return;
    this.reattaching.add(sub);
    try {
      for (let attempt = 0; !this.closing && this.subscriptions.has(sub); attempt++) {
        const conn = this.conn;
        if (!conn?.ready || conn.closed) return; // the reconnect will attach it
        try {
          await sub.attach(conn);
          return;
        } catch (error) {
          if (conn.closed) return;
          if (attempt === 0 || attempt % 10 === 9) this.emit('error', error);
          await sleep(backoffMs(attempt, 200, 10_000), this.closeController.signal);
        }
      }
    } finally {
      this.reattaching.delete(sub);
    }
  }

  get currentConn(): Conn | null {
    return this.conn;
  }

  // ---- queue inspection ----------------------------------------------------------------------------------------

  async purge(queue: string): Promise<number> {
    return this.withConnection(`purge queue ${queue}`, async (conn) => {
      try {
        return (await (await this.admin(conn)).purgeQueue(queue)).messageCount;
      } catch (error) {
        if (replyCodeOf(error) === 404) return 0;
        throw error;
      }
    }, { queue });
  }

  async size(queue: string): Promise<number> {
    return this.withConnection(`check queue ${queue}`, async (conn) => {
      try {
        return (await (await this.admin(conn)).checkQueue(queue)).messageCount;
      } catch (error) {
        if (replyCodeOf(error) === 404) return 0;
        throw error;
      }
    }, { queue });
  }

  isRecoverable(error: unknown): boolean {
    if (error instanceof AmqpChannelError || error instanceof ImproperlyConfigured) return false;
    if (error instanceof OperationalError) return true;
    if (!error || typeof error !== 'object') return false;
    const e = error as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code)) return true;
    if (typeof e.code === 'number') return CONNECTION_REPLY_CODES.has(e.code);
    if (e.name === 'IllegalOperationError') return true;
    return typeof e.message === 'string' && CLOSED_TEXT.test(e.message);
  }

  override on(event: TransportEvent, listener: (arg?: unknown) => void): this {
    return super.on(event, listener);
  }

  override off(event: TransportEvent, listener: (arg?: unknown) => void): this {
    return super.off(event, listener);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  // ---- errors --------------------------------------------------------------------------------------------------

  private closedError(): OperationalError {
    return new OperationalError(`The transport to ${this.displayUrl} is closed. Open a new one to keep using the broker.`, { context: { url: this.displayUrl } });
  }

  private connectionError(error: unknown, endpoint: AmqpEndpoint): Error {
    const text = errorText(error);
    if (/ACCESS_REFUSED|auth/i.test(text) || replyCodeOf(error) === 403) {
      return new OperationalError(`The broker at ${endpoint.redacted} refused the login: ${text}. Check the user name and password in the broker URL.`, { cause: error, context: { url: endpoint.redacted } });
    }
    if (replyCodeOf(error) === 530 || /vhost|NOT_ALLOWED/i.test(text)) {
      return new OperationalError(`The broker at ${endpoint.redacted} refused virtual host '${decodeURIComponent(endpoint.vhost)}': ${text}. Check that the vhost exists and the user may use it.`, { cause: error, context: { url: endpoint.redacted } });
    }
    return new OperationalError(`Cannot connect to the broker at ${endpoint.redacted}: ${text}. Check that RabbitMQ is running and reachable there, and the host and port in the broker URL.`, { cause: error, context: { url: endpoint.redacted } });
  }

  private channelError(what: string, error: unknown, code: number, context: { queue?: string } = {}): AmqpChannelError {
    const hint = code === 404 ? ' Declare it first (declare a queue bound to it), or check the name.' : code === 403 ? ' Check the user\'s permissions on this virtual host.' : '';
    return new AmqpChannelError(`Could not ${what} on ${this.displayUrl}: ${errorText(error)}.${hint}`, code, { cause: error, context: { url: this.displayUrl, ...context } });
  }
}

function declarationKey(d: QueueDeclaration): string {
  return JSON.stringify([d.name, d.exchange ?? d.name, d.exchangeType ?? null, d.routingKey ?? d.name, d.durable ?? true, d.autoDelete ?? false, d.maxPriority ?? null, d.expires ?? null]);
}

/**
 * One subscription: a channel of its own with basic.qos and a consumer per queue. It outlives its channel: after a
 * reconnect (or a channel error) it is attached again to a new channel, with the same prefetch.
 */
class AmqpSubscription implements Subscription {
  private channel: Channel | null = null;
  private readonly consumers = new Map<string, string>(); // consumer tag → queue
  private cancelled = false;
  private prefetch: number;
  /** Unsettled deliveries per channel, so a cancelled subscription closes its channel once they are settled. */
  private readonly outstanding = new Map<Channel, number>();
  private attaching: Promise<void> | null = null;
  private attachedGen = -1;

  constructor(
    private readonly transport: AmqpTransport,
    private readonly queues: readonly string[],
    private readonly onDelivery: (delivery: Delivery) => void,
    private readonly options: SubscribeOptions,
  ) {
    this.prefetch = Math.max(0, Math.trunc(options.prefetch || 0));
  }

  /** Open a channel on `conn`, set qos, consume every queue. Idempotent per connection. */
  attach(conn: Conn): Promise<void> {
    if (this.cancelled) return Promise.resolve();
    if (this.attachedGen === conn.gen && this.channel) return Promise.resolve();
    const run = (this.attaching ?? Promise.resolve()).catch(() => {}).then(() => this.doAttach(conn));
    this.attaching = run;
    return run.finally(() => {
      if (this.attaching === run) this.attaching = null;
    });
  }

  private async doAttach(conn: Conn): Promise<void> {
    if (this.cancelled || (this.attachedGen === conn.gen && this.channel)) return;
    const ch = await this.transport.openChannel(conn);
    ch.on('close', () => this.onChannelClosed(ch, conn));
    // The channel is ours before the first basic.consume: deliveries of the first queue may arrive (and be settled)
    // while the next queue is still being consumed.
    this.channel = ch;
    this.attachedGen = conn.gen;
    this.consumers.clear();
    try {
      if (this.prefetch > 0) await ch.prefetch(this.prefetch, true);
      for (const queue of this.queues) {
        const { consumerTag } = await ch.consume(queue, (msg) => this.onMessage(ch, queue, msg), { noAck: Boolean(this.options.noAck) });
        this.consumers.set(consumerTag, queue);
      }
    } catch (error) {
      if (this.channel === ch) {
        this.channel = null;
        this.attachedGen = -1;
        this.consumers.clear();
      }
      void ch.close().catch(() => {});
      const code = replyCodeOf(error) ?? replyCodeOf(channelErrors.get(ch));
      if (code === 404) {
        throw new AmqpChannelError(`Cannot consume from ${this.queues.join(', ')} on ${this.transport.displayUrl}: ${errorText(channelErrors.get(ch) ?? error)}. Declare the queue before subscribing.`, 404, { cause: error, context: { url: this.transport.displayUrl, queue: this.queues[0] } });
      }
      throw error;
    }
  }

  private onChannelClosed(ch: Channel, conn: Conn): void {
    // Its unsettled deliveries are back in the queue (the broker requeued them); settling them is a no-op now.
    this.outstanding.delete(ch);
    if (this.channel !== ch) return;
    this.channel = null;
    this.attachedGen = -1;
    if (this.cancelled || conn.closed || this.transport.isClosing) return;
    // A channel error under a live connection (the broker closed only this channel): come back on a new channel.
    // Give amqplib a moment to report a connection close that caused this, so the reconnect does the work.
    setTimeout(() => {
      if (!conn.closed && !this.cancelled) void this.transport.reattach(this);
    }, 50);
  }

  private onMessage(ch: Channel, queue: string, msg: ConsumeMessage | null): void {
    try {
      if (msg === null) {
        this.onServerCancel(ch, queue);
        return;
      }
      this.deliver(ch, queue, msg);
    } catch (error) {
      // Nothing may escape into amqplib's frame loop.
      this.transport.emit('error', error);
    }
  }

  private deliver(ch: Channel, queue: string, msg: ConsumeMessage): void {
    const noAck = Boolean(this.options.noAck);
    if (this.cancelled) {
      // Arrived between basic.cancel and cancel-ok: not ours any more; give it straight back.
      if (!noAck) {
        try {
          ch.reject(msg, true);
        } catch {
          /* channel closed: the broker requeues it anyway */
        }
      }
      return;
    }
    const { message, decodeError } = toIncoming(msg as unknown as RawMessage);
    if (!noAck) this.outstanding.set(ch, (this.outstanding.get(ch) ?? 0) + 1);
    let settled = false;
    const settle = async (how: (ch: Channel) => void, sync = false): Promise<void> => {
      if (settled || noAck) return;
      settled = true;
      try {
        // After a reconnect the old channel is gone and the broker has requeued its deliveries: nothing to do.
        how(ch);
        // basic.ack/reject have no reply. For a requeue, one round trip on the same channel (basic.qos with the
        // current value) makes sure the broker has put the message back before we resolve, so the caller (or
        // anyone it tells) sees it in the queue.
        if (sync) await ch.prefetch(this.prefetch, true);
      } catch {
        /* channel closed */
      }
      this.settled(ch);
    };
    const delivery: Delivery = {
      message,
      queue,
      redelivered: Boolean(msg.fields.redelivered),
      ...(decodeError ? { decodeError } : {}),
      ack: () => settle((c) => c.ack(msg)),
      reject: ({ requeue }) => settle((c) => c.reject(msg, requeue), requeue),
    };
    try {
      this.onDelivery(delivery);
    } catch (error) {
      this.transport.emit('error', error);
    }
  }

  private settled(ch: Channel): void {
    const left = (this.outstanding.get(ch) ?? 1) - 1;
    if (left > 0) {
      this.outstanding.set(ch, left);
      return;
    }
    this.outstanding.delete(ch);
    if (this.cancelled || this.channel !== ch) void ch.close().catch(() => {});
  }

  /** The broker cancelled a consumer (its queue was deleted): re-create the queue when we know it, and consume again. */
  private onServerCancel(ch: Channel, queue: string): void {
    for (const [tag, q] of this.consumers) if (q === queue) this.consumers.delete(tag);
    if (this.cancelled) return;
    const declaration = this.transport.declarationOf(queue);
    this.transport.emit('error', new OperationalError(`The broker at ${this.transport.displayUrl} cancelled the consumer of queue ${queue} (was the queue deleted?). ${declaration ? 'Declaring it again and consuming.' : 'Declare the queue and subscribe again.'}`, { context: { queue, url: this.transport.displayUrl } }));
    if (!declaration) return;
    const conn = this.transport.currentConn;
    if (!conn) return;
    void (async () => {
      try {
        await this.transport.declareOn(conn, declaration, true);
        if (this.channel !== ch || this.cancelled) return;
        const { consumerTag } = await ch.consume(queue, (msg) => this.onMessage(ch, queue, msg), { noAck: Boolean(this.options.noAck) });
        this.consumers.set(consumerTag, queue);
      } catch (error) {
        if (!conn.closed) this.transport.emit('error', error);
      }
    })();
  }

  async setPrefetch(count: number): Promise<void> {
    this.prefetch = Math.max(0, Math.trunc(count || 0));
    const ch = this.channel;
    if (!ch || this.cancelled) return;
    try {
      await ch.prefetch(this.prefetch, true);
    } catch {
      // The channel went away; the value is applied when the subscription is attached again.
    }
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    this.transport.subscriptions.delete(this);
    await this.attaching?.catch(() => {});
    const ch = this.channel;
    if (!ch) return;
    for (const tag of this.consumers.keys()) {
      try {
        await ch.cancel(tag);
      } catch {
        break; // channel closed: nothing left to cancel
      }
    }
    this.consumers.clear();
    // Unsettled deliveries keep the channel open so they can still be acked or rejected.
    if (!this.outstanding.get(ch)) {
      this.channel = null;
      await ch.close().catch(() => {});
    }
  }

  /** Forget the channel without talking to the broker (the transport is closing the connection). */
  detach(): void {
    this.cancelled = true;
    this.channel = null;
  }
}

export const createTransport: TransportFactory = (options: TransportOptions) => new AmqpTransport(options);
