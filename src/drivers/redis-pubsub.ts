// Redis pub/sub bookkeeping: one lazily opened subscriber connection shared by every listener of a store, with
// SUBSCRIBE/PSUBSCRIBE sent once per channel or pattern and UNSUBSCRIBE once its last listener leaves. Used by the
// broker's fanout exchanges and the result backend's per-key notifications. Knows no key layout.

import type { Redis } from 'ioredis';
import { closeRedis } from './redis.js';

/** Receives one published message, as the bytes Redis sent. */
export type PubSubListener = (message: Buffer) => void;

/** Stops one listener; resolves once Redis confirmed the UNSUBSCRIBE (or at once, when others still listen). */
export type StopListening = () => Promise<void>;

type Kind = 'channel' | 'pattern';

/**
 * Channel and pattern listeners over one subscriber connection, opened by `open` on first use (ioredis
 * re-subscribes after a reconnect). A listener that throws does not stop delivery to the others.
 */
export class RedisSubscriber {
  private connection?: Redis;
  private readonly listeners: Record<Kind, Map<string, Set<PubSubListener>>> = { channel: new Map(), pattern: new Map() };
  private closed = false;

  /** `open` creates the subscriber connection (drivers/redis.ts openRedis with role 'subscriber'). */
  constructor(private readonly open: () => Redis) {}

  /** Listen to one channel (Redis SUBSCRIBE); resolves once Redis confirmed the subscription. Rejects with the driver's error. */
  subscribe(channel: string, listener: PubSubListener): Promise<StopListening> {
    return this.add('channel', channel, listener);
  }

  /** Listen to every channel matching a glob pattern (Redis PSUBSCRIBE); resolves once Redis confirmed it. */
  psubscribe(pattern: string, listener: PubSubListener): Promise<StopListening> {
    return this.add('pattern', pattern, listener);
  }

  private subscriber(): Redis {
    if (!this.connection) {
      const sub = this.open();
      sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.deliver('channel', channel.toString('utf8'), message));
      sub.on('pmessageBuffer', (pattern: Buffer, _channel: Buffer, message: Buffer) => this.deliver('pattern', pattern.toString('utf8'), message));
      this.connection = sub;
    }
    return this.connection;
  }

  private deliver(kind: Kind, name: string, message: Buffer): void {
    for (const fn of [...(this.listeners[kind].get(name) ?? [])]) {
      try {
        fn(message);
      } catch {
        // One listener's failure must not stop delivery to the others.
      }
    }
  }

  private async add(kind: Kind, name: string, onMessage: PubSubListener): Promise<StopListening> {
    const sub = this.subscriber();
    const map = this.listeners[kind];
    const listener: PubSubListener = (m) => onMessage(m);
    let set = map.get(name);
    const fresh = !set;
    if (!set) map.set(name, (set = new Set()));
    set.add(listener);
    try {
      // Commands on one connection run in order, so a SUBSCRIBE after a pending UNSUBSCRIBE of the same name still
      // leaves it subscribed.
      if (fresh) await (kind === 'channel' ? sub.subscribe(name) : sub.psubscribe(name));
    } catch (error) {
      set.delete(listener);
      if (set.size === 0 && map.get(name) === set) map.delete(name);
      throw error;
    }
    let stopped = false;
    return async () => {
      if (stopped) return;
      stopped = true;
      const current = map.get(name);
      current?.delete(listener);
      if (!current || current.size > 0) return;
      map.delete(name);
      if (this.closed || sub.status !== 'ready') return;
      await (kind === 'channel' ? sub.unsubscribe(name) : sub.punsubscribe(name)).catch(() => undefined);
    };
  }

  /** Drop every listener and close the connection (if it was ever opened). Never rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.channel.clear();
    this.listeners.pattern.clear();
    if (this.connection) await closeRedis(this.connection);
  }
}
