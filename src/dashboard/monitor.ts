// The dashboard's live feed: an event receiver on the app's broker feeding a ClusterState, Flower's periodic
// enable_events (every 5 s, so workers started without -E report tasks too), one heartbeat request at start so
// running workers show up at once, and listeners (metrics, the page) called for every event.

import type { Control } from '../control/client.js';
import { EventReceiver } from '../events/receiver.js';
import type { EventFields } from '../protocol/events.js';
import type { Transport } from '../transports/transport.js';
import { ClusterState, type ClusterStateOptions } from './state.js';

/** Flower's events_enable_interval: how often workers are told to send task events (ms). */
export const ENABLE_EVENTS_INTERVAL_MS = 5_000;

/** Longest wait between attempts to start consuming events (Flower's MAX_RETRY_INTERVAL), seconds. */
const MAX_RETRY_SECONDS = 60;

/** What the monitor needs from the app. */
export interface MonitorApp {
  readonly control: Control;
  getTransport(): Promise<Transport>;
  readonly conf: { get(name: string): unknown };
}

/** Options of Monitor (ClusterState bounds, and Flower's --enable-events). */
export interface MonitorOptions extends ClusterStateOptions {
  /** Send enable_events to every worker every 5 s (Flower's --enable_events, default true). */
  enableEvents?: boolean;
}

/** Listener of every event applied to the state, called after the state has it. */
export type EventListener = (event: EventFields, state: ClusterState) => void;

/** Celery's event-capturing thread in Flower: keeps `state` current while started. */
export class Monitor {
  readonly state: ClusterState;
  private readonly listeners = new Set<EventListener>();
  private receiver?: EventReceiver;
  private timer?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private stopped = false;
  private started?: Promise<void>;

  constructor(private readonly app: MonitorApp, private readonly options: MonitorOptions = {}, private readonly onError: (error: unknown) => void = () => undefined) {
    this.state = new ClusterState(options);
  }

  /** Call `listener` for every event from now on; returns a function that stops it. */
  listen(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Start consuming events (once; later calls return the same promise). Rejects when the broker is unreachable,
   * and keeps trying in the background (after 1, 2, 4 … up to 60 s, as Flower does) until it succeeds or stop().
   */
  start(): Promise<void> {
    return (this.started ??= this.open().catch((error: unknown) => {
      this.retryLater(1);
      throw error;
    }));
  }

  /** Stop consuming, retrying and the enable_events timer. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.receiver?.stop();
    this.receiver = undefined;
  }

  /** Apply one event as if it came from the broker (the receiver calls this). */
  apply(event: EventFields): void {
    this.state.event(event);
    for (const listener of this.listeners) {
      try {
        listener(event, this.state);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  private retryLater(seconds: number): void {
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.open().catch((error: unknown) => {
        this.onError(error);
        this.retryLater(Math.min(seconds * 2, MAX_RETRY_SECONDS));
      });
    }, seconds * 1000);
    this.retry.unref();
  }

  private async open(): Promise<void> {
    const conf = (name: string) => this.app.conf.get(name);
    const transport = await this.app.getTransport();
    this.receiver = new EventReceiver(transport, (event) => this.apply(event), {
      exchange: (conf('event_exchange') as string | null) ?? undefined,
      queuePrefix: (conf('event_queue_prefix') as string | null) ?? undefined,
      expires: conf('event_queue_expires') as number | null,
      messageTtl: conf('event_queue_ttl') as number | null,
    });
    await this.receiver.start();
    if (this.stopped) {
      await this.receiver.stop();
      return;
    }
    const control = this.app.control;
    // As Celery's receiver does when it starts (wakeup): ask every worker for a heartbeat now.
    await control.broadcast('heartbeat', {}, { reply: false }).catch(this.onError);
    if (this.options.enableEvents ?? true) {
      const enable = () => void control.broadcast('enable_events', {}, { reply: false }).catch(this.onError);
      enable();
      this.timer = setInterval(enable, ENABLE_EVENTS_INTERVAL_MS);
      this.timer.unref();
    }
  }
}
