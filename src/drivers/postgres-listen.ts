// PostgreSQL LISTEN: one dedicated connection (outside the pool, because a pooled client is handed back and its
// LISTENs would leak to other users) that receives NOTIFY on a fixed set of channels and reconnects after a loss
// while someone still depends on it. Knows no channel meanings: the caller's onNotification does.

import pg from 'pg';
import { censorWhenInspected } from '../config/humanize.js';

/** What a PgListener listens to and how it behaves after a loss. */
export interface PgListenerOptions {
  /** node-postgres settings for the dedicated connection (drivers/postgres.ts pgConfig). */
  readonly config: pg.ClientConfig;
  /** Channel names, LISTENed in this order after every (re)connect. Plain identifiers only: they are not quoted. */
  readonly channels: readonly string[];
  /** Called for every NOTIFY on one of the channels (payload '' when none); must not throw. */
  readonly onNotification: (channel: string, payload: string) => void;
  /** Awaited before each connect, e.g. so the tables a payload refers to exist. Its rejection fails `ready()`. */
  readonly beforeListen?: () => Promise<unknown>;
  /** Asked after a loss: reconnect (after `retryMs`) only while this says notifications are still needed. */
  readonly keepAlive: () => boolean;
  /** Pause before reconnecting after a loss, in ms (default 1000). */
  readonly retryMs?: number;
  /** The error `ready()` rejects with once closed (names the store and its redacted URL). */
  readonly closedError: () => Error;
}

/** One LISTEN connection; `ready()` opens it on first use and again after a loss. */
export class PgListener {
  private client?: pg.Client;
  private connecting?: Promise<void>;
  private retry?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: PgListenerOptions) {}

  /**
   * Resolves once the connection is LISTENing on every channel; rejects with the driver's error (the caller wraps
   * it, e.g. drivers/postgres.ts wrapPgError) or `closedError()` after close(). Concurrent calls share one attempt.
   */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(this.options.closedError());
    if (this.connecting) return this.connecting;
    const client = censorWhenInspected(new pg.Client(this.options.config));
    this.client = client;
    const connecting = (async () => {
      client.on('error', () => this.drop(client));
      client.on('end', () => this.drop(client));
      client.on('notification', (n) => this.options.onNotification(n.channel, n.payload ?? ''));
      await this.options.beforeListen?.();
      await client.connect();
      for (const channel of this.options.channels) await client.query(`LISTEN ${channel}`);
      if (this.closed) throw this.options.closedError();
    })();
    this.connecting = connecting;
    connecting.catch(() => this.drop(client));
    return connecting;
  }

  private drop(client: pg.Client): void {
    if (this.client !== client) return; // already dropped (or replaced)
    this.client = undefined;
    this.connecting = undefined;
    void client.end().catch(() => undefined);
    if (!this.closed && this.options.keepAlive() && !this.retry) {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        if (!this.closed && this.options.keepAlive()) void this.ready().catch(() => undefined);
      }, this.options.retryMs ?? 1_000);
    }
  }

  /** Stop reconnecting and end the connection. Never rejects. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    await client?.end().catch(() => undefined);
  }
}
