// Consuming: one AmqpSubscription per Transport.subscribe() call, on a channel of its own with basic.qos(prefetch,
// global=true) as Celery sends it and a consumer per queue; it outlives its channel (re-attached after a reconnect
// or a channel error, with the same prefetch). Subscriptions is the transport's set of them and what they need
// from it, as a small public surface.

import type { Channel, ConsumeMessage } from 'amqplib';
import { OperationalError } from '../../errors.js';
import { backoffMs } from '../../utils/backoff.js';
import { sleepLong } from '../../utils/long-timer.js';
import type { Delivery, SubscribeOptions, Subscription } from '../transport.js';
import { lastChannelError, openChannel } from './channels.js';
import { toIncoming, type RawMessage } from './codec.js';
import type { AmqpConnection, Conn } from './connection.js';
import type { Declarations } from './declarations.js';
import { AmqpChannelError, errorText, isConnectionLoss, replyCodeOf } from './errors.js';

/** The live subscriptions of one transport: attached on every new connection, re-attached after channel errors. */
export class Subscriptions {
  private readonly live = new Set<AmqpSubscription>();
  private readonly reattaching = new Set<AmqpSubscription>();

  /** `report` receives errors worth logging that no caller is waiting for (the transport's 'error' event). */
  constructor(
    readonly connection: AmqpConnection,
    readonly declarations: Declarations,
    readonly report: (error: unknown) => void,
  ) {}

  /**
   * Subscribe: registered before consuming, so a reconnect racing this call attaches it too (attach is once per
   * connection). Rejects (and forgets the subscription) when the first attach fails.
   */
  async open(queues: readonly string[], onDelivery: (delivery: Delivery) => void, options: SubscribeOptions): Promise<Subscription> {
    const sub = new AmqpSubscription(this, [...queues], onDelivery, options);
    this.live.add(sub);
    try {
      await this.connection.withConnection(`consume from ${queues.join(', ')}`, (conn) => sub.attach(conn), { queue: queues[0] });
    } catch (error) {
      this.live.delete(sub);
      await sub.cancel().catch(() => {});
      throw error;
    }
    return sub;
  }

  /**
   * Attach every live subscription to a fresh connection. A connection loss rejects; a subscription that fails
   * otherwise (e.g. its queue is gone and we never declared it) is retried with backoff once the connection is ready.
   */
  async attachAll(conn: Conn): Promise<() => void> {
    const failed: AmqpSubscription[] = [];
    for (const sub of [...this.live]) {
      try {
        await sub.attach(conn);
      } catch (error) {
        if (conn.closed || isConnectionLoss(error)) throw error;
        failed.push(sub);
      }
    }
    return () => {
      for (const sub of failed) void this.reattach(sub);
    };
  }

  /** Re-attach one subscription after its channel died under a live connection, with backoff until it works. */
  async reattach(sub: AmqpSubscription): Promise<void> {
    if (this.reattaching.has(sub)) return;
    this.reattaching.add(sub);
    try {
      for (let attempt = 0; !this.connection.closing && this.live.has(sub); attempt++) {
        const conn = this.connection.current;
        if (!conn) return; // the reconnect will attach it
        try {
          await sub.attach(conn);
          return;
        } catch (error) {
          if (conn.closed) return;
          if (attempt === 0 || attempt % 10 === 9) this.report(error);
          await sleepLong(backoffMs(attempt, 200, 10_000), { signal: this.connection.closeSignal });
        }
      }
    } finally {
      this.reattaching.delete(sub);
    }
  }

  /** A subscription was cancelled: no more re-attaching. */
  forget(sub: AmqpSubscription): void {
    this.live.delete(sub);
  }

  /** Forget every subscription without talking to the broker (the connection is being closed). */
  detachAll(): void {
    for (const sub of [...this.live]) sub.detach();
    this.live.clear();
  }
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
  /** basic.qos per channel (Celery's global QoS) or per consumer (quorum queues refuse global QoS). */
  private readonly globalQos: boolean;
  /** Unsettled deliveries per channel, so a cancelled subscription closes its channel once they are settled. */
  private readonly outstanding = new Map<Channel, number>();
  private attaching: Promise<void> | null = null;
  private attachedGen = -1;
  private readonly displayUrl: string;

  constructor(
    private readonly host: Subscriptions,
    private readonly queues: readonly string[],
    private readonly onDelivery: (delivery: Delivery) => void,
    private readonly options: SubscribeOptions,
  ) {
    this.prefetch = Math.max(0, Math.trunc(options.prefetch || 0));
    this.globalQos = options.globalQos !== false;
    this.displayUrl = host.connection.displayUrl;
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
    const ch = await openChannel(conn);
    ch.on('close', () => this.onChannelClosed(ch, conn));
    // The channel is ours before the first basic.consume: deliveries of the first queue may arrive (and be settled)
    // while the next queue is still being consumed.
    this.channel = ch;
    this.attachedGen = conn.gen;
    this.consumers.clear();
    try {
      if (this.prefetch > 0) await ch.prefetch(this.prefetch, this.globalQos);
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
      const code = replyCodeOf(error) ?? replyCodeOf(lastChannelError(ch));
      if (code === 404) {
        throw new AmqpChannelError(`Cannot consume from ${this.queues.join(', ')} on ${this.displayUrl}: ${errorText(lastChannelError(ch) ?? error)}. Declare the queue before subscribing.`, 404, { cause: error, context: { url: this.displayUrl, queue: this.queues[0] } });
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
    if (this.cancelled || conn.closed || this.host.connection.closing) return;
    // A channel error under a live connection (the broker closed only this channel): come back on a new channel.
    // Give amqplib a moment to report a connection close that caused this, so the reconnect does the work.
    setTimeout(() => {
      if (!conn.closed && !this.cancelled) void this.host.reattach(this);
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
      this.host.report(error);
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
        if (sync) await ch.prefetch(this.prefetch, this.globalQos);
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
      this.host.report(error);
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
    const declaration = this.host.declarations.of(queue);
    this.host.report(new OperationalError(`The broker at ${this.displayUrl} cancelled the consumer of queue ${queue} (was the queue deleted?). ${declaration ? 'Declaring it again and consuming.' : 'Declare the queue and subscribe again.'}`, { context: { queue, url: this.displayUrl } }));
    if (!declaration) return;
    const conn = this.host.connection.current;
    if (!conn) return;
    void (async () => {
      try {
        await this.host.declarations.declareOn(conn, declaration, true);
        if (this.channel !== ch || this.cancelled) return;
        const { consumerTag } = await ch.consume(queue, (msg) => this.onMessage(ch, queue, msg), { noAck: Boolean(this.options.noAck) });
        this.consumers.set(consumerTag, queue);
      } catch (error) {
        if (!conn.closed) this.host.report(error);
      }
    })();
  }

  async setPrefetch(count: number): Promise<void> {
    this.prefetch = Math.max(0, Math.trunc(count || 0));
    const ch = this.channel;
    if (!ch || this.cancelled) return;
    try {
      await ch.prefetch(this.prefetch, this.globalQos);
      // A per-consumer prefetch binds consumers created after it: consume again, then cancel the old consumers
      // (their unsettled deliveries stay valid on this channel).
      if (!this.globalQos) await this.reconsume(ch);
    } catch {
      // The channel went away; the value is applied when the subscription is attached again.
    }
  }

  private async reconsume(ch: Channel): Promise<void> {
    for (const [tag, queue] of [...this.consumers]) {
      if (this.channel !== ch || this.cancelled) return;
      const { consumerTag } = await ch.consume(queue, (msg) => this.onMessage(ch, queue, msg), { noAck: Boolean(this.options.noAck) });
      this.consumers.set(consumerTag, queue);
      this.consumers.delete(tag);
      await ch.cancel(tag);
    }
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    this.host.forget(this);
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
