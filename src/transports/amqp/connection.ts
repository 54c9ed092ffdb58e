// One AMQP connection at a time (amqplib's ChannelModel layer) and its life: the first connect over every failover
// URL, reconnecting with capped backoff after a loss, and running operations on a ready connection, again after a
// reconnect when the connection died under them (bounded by max_wait_for_connection). What is re-created on a new
// connection (declarations, subscriptions) is the transport's business, through ConnectionHooks.

import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import { ImproperlyConfigured, OperationalError } from '../../errors.js';
import { backoffMs } from '../../utils/backoff.js';
import { sleepLong } from '../../utils/long-timer.js';
import type { TransportEvent, TransportOptions } from '../transport.js';
import { splitFailover } from '../../config/urls.js';
import { failoverOrder, type NextFailover } from '../../config/failover-strategy.js';
import { connectPlan, type AmqpEndpoint, type ConnectPlan } from './connection-options.js';
import {
  AmqpChannelError, channelError, closedError, connectionError, errorText, isChannelRefusal, isConnectionLoss,
  isRecoverableAmqpError, replyCodeOf,
} from './errors.js';

/** One live AMQP connection and the channels and caches the transport keeps on it. */
export interface Conn {
  /** Increases with every new connection: a subscription attaches once per generation. */
  readonly gen: number;
  readonly model: ChannelModel;
  readonly endpoint: AmqpEndpoint;
  closed: boolean;
  /** Set once declarations and subscriptions have been replayed: only then may publishing and declaring use it. */
  ready: boolean;
  /** The shared channels (channels.ts), opened on first use. */
  publisher?: Promise<ConfirmChannel>;
  admin?: Promise<Channel>;
  /** Declaration keys and exchange names declared on this connection (the no-op cache). */
  readonly declared: Set<string>;
  readonly exchanges: Set<string>;
}

/**
 * An idle connection must not keep a finished script alive: unref amqplib's socket and heartbeat timers (the app
 * holds the process while a call is pending or a consumer runs).
 */
function unrefIdle(model: ChannelModel): void {
  const { stream, heartbeater } = (model as unknown as { connection?: AmqplibConnection }).connection ?? {};
  stream?.unref?.();
  heartbeater?.sendTimer?.unref?.();
  heartbeater?.recvTimer?.unref?.();
}

/** The parts of amqplib's Connection that unrefIdle touches (not in its typings). */
interface AmqplibConnection {
  stream?: { unref?(): void };
  heartbeater?: { sendTimer?: NodeJS.Timeout; recvTimer?: NodeJS.Timeout };
}

/** What the connection asks of its owner (the transport). */
export interface ConnectionHooks {
  /**
   * Re-create on a fresh connection what the transport had (declarations, subscriptions) before anyone else uses
   * it. Rejecting drops the connection (and a reconnect tries again). Resolves with work to start once it is ready.
   */
  restore(conn: Conn): Promise<() => void>;
  /** Report 'connected' (after a reconnect), 'disconnected' (with the cause) or 'error' (a problem worth logging). */
  emit(event: TransportEvent, arg?: unknown): void;
}

/** The connection side of the AMQP transport; see the file header. */
export class AmqpConnection {
  /** Every failover URL with passwords hidden, joined by ';'. */
  readonly displayUrl: string;
  private readonly plan: ConnectPlan;
  /** How long an operation waits for a lost connection to come back before failing, in ms. */
  private readonly waitMs: number;
  private conn: Conn | null = null;
  private gen = 0;
  private endpointIndex = -1;
  private readonly nextEndpoint: NextFailover;
  private closingNow = false;
  private readonly closeController = new AbortController();
  private connecting: Promise<void> | null = null;
  private everConnected = false;
  private readonly readyWaiters = new Set<() => void>();

  /** Reads the URLs, TLS and broker_transport_options (max_wait_for_connection in s) from `options`. */
  constructor(options: TransportOptions, private readonly hooks: ConnectionHooks) {
    this.plan = connectPlan(options);
    this.displayUrl = this.plan.endpoints.map((e) => e.redacted).join(';');
    this.nextEndpoint = failoverOrder(options.failoverStrategy, splitFailover(options.url));
    const configured = Number(options.transportOptions?.max_wait_for_connection ?? NaN) * 1000;
    this.waitMs = Number.isFinite(configured) && configured > 0 ? configured : Math.max(10_000, options.connectTimeoutMs ?? 0);
  }

  /** The live, ready connection, or null while (re)connecting. */
  get current(): Conn | null {
    return this.conn?.ready && !this.conn.closed ? this.conn : null;
  }

  /** True once close() was called. */
  get closing(): boolean {
    return this.closingNow;
  }

  /** Aborts when close() is called: for sleeps between retries. */
  get closeSignal(): AbortSignal {
    return this.closeController.signal;
  }

  /**
   * Connect (the first time: every failover URL once) or wait for the running reconnect. Rejects with an
   * OperationalError saying what to check, or with `signal`'s reason when it aborts first.
   */
  async connect(signal?: AbortSignal): Promise<void> {
    if (this.closingNow) throw closedError(this.displayUrl);
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
        if (this.closingNow) throw closedError(this.displayUrl);
        if (!isRecoverableAmqpError(error)) throw error;
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
    for (let attempt = 0; !this.closingNow; attempt++) {
      try {
        await this.establish();
        this.hooks.emit('connected');
        return;
      } catch (error) {
        if (this.closingNow) break;
        const delay = backoffMs(attempt, 100, 5_000);
        this.hooks.emit('reconnect-failed', error);
        // Quiet for the first quick retries; then say why, about once per delay (Celery logs every attempt).
        if (delay >= 1_000) {
          this.hooks.emit('error', new OperationalError(`Cannot reconnect to the broker at ${this.displayUrl} (${errorText(error)}); trying again in ${(delay / 1000).toFixed(1)} s.`, { cause: error, context: { url: this.displayUrl } }));
        }
        await sleepLong(delay, { signal: this.closeController.signal });
      }
    }
    throw closedError(this.displayUrl);
  }

  /** Open a connection to the next endpoint, let the owner restore its state on it, then mark it ready. */
  private async establish(): Promise<void> {
    // The first URL first; every later attempt (after a failure or a loss) the strategy's next one.
    this.endpointIndex = this.endpointIndex < 0 ? 0 : this.nextEndpoint(this.endpointIndex);
    const endpoint = this.plan.endpoints[this.endpointIndex]!;
    let model: ChannelModel;
    try {
      model = await amqp.connect(endpoint, this.plan.socketOptions);
    } catch (error) {
      throw connectionError(error, endpoint);
    }
    if (this.closingNow) {
      await model.close().catch(() => {});
      throw closedError(this.displayUrl);
    }
    unrefIdle(model);
    const conn: Conn = { gen: ++this.gen, model, endpoint, closed: false, ready: false, declared: new Set(), exchanges: new Set() };
    let lastError: Error | undefined;
    model.on('error', (error: Error) => {
      lastError = error;
    });
    model.on('close', () => this.onConnectionClosed(conn, lastError));
    model.on('blocked', (reason: unknown) => this.hooks.emit('error', new OperationalError(`The broker at ${this.displayUrl} blocked publishing (${String(reason)}): it is low on memory or disk. Publishes wait until it recovers.`)));
    this.conn = conn;
    let afterReady: () => void;
    try {
      afterReady = await this.hooks.restore(conn);
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
    afterReady();
  }

  private onConnectionClosed(conn: Conn, error: Error | undefined): void {
    const wasReady = conn.ready;
    conn.closed = true;
    conn.ready = false;
    // Only the current connection's loss matters; establish() handles one that dies while being set up.
    if (this.conn !== conn) return;
    this.conn = null;
    if (this.closingNow || !wasReady) return;
    this.hooks.emit('disconnected', error ?? new OperationalError(`The connection to the broker at ${this.displayUrl} closed.`));
    if (!this.connecting) {
      this.connecting = this.reconnectLoop().catch(() => {}).finally(() => {
        this.connecting = null;
      });
    }
  }

  /** A ready connection, waiting (until `deadline`, epoch ms) for a reconnect when there is none. */
  private async ready(deadline: number): Promise<Conn> {
    for (;;) {
      if (this.closingNow) throw closedError(this.displayUrl);
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
   * (bounded by max_wait_for_connection); channel-level refusals become AmqpChannelError. `what` names the
   * operation in errors ("declare queue q").
   */
  async withConnection<T>(what: string, op: (conn: Conn) => Promise<T>, context: { queue?: string } = {}): Promise<T> {
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
        if (isChannelRefusal(code)) throw channelError(this.displayUrl, what, error, code, context);
        if (conn.closed || isConnectionLoss(error)) {
          if (this.closingNow) throw closedError(this.displayUrl);
          if (Date.now() >= deadline) {
            throw new OperationalError(`Could not ${what} on ${this.displayUrl}: the connection was lost (${errorText(error)}) and did not come back within ${Math.round(this.waitMs / 1000)} s. Check that RabbitMQ is running; the operation can be retried.`, { cause: error, context: { url: this.displayUrl, ...context } });
          }
          continue;
        }
        throw error;
      }
    }
  }

  /** Close the connection for good: no reconnects; waiting operations fail with a "closed" error. Never rejects. */
  async close(): Promise<void> {
    if (this.closingNow) return;
    this.closingNow = true;
    this.closeController.abort();
    for (const wake of [...this.readyWaiters]) wake();
    const conn = this.conn;
    this.conn = null;
    if (conn && !conn.closed) {
      conn.closed = true;
      await conn.model.close().catch(() => {});
    }
    await this.connecting?.catch(() => {});
  }
}
