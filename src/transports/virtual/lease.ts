// The consumer's liveness lease over a QueueStore's leases (celeriac's, beyond kombu): open, renew every few
// seconds, replace when lost (reporting the tasks that may run twice), sweep other consumers' expired leases, give
// back stranded messages, and release on stop. Timing only; what a lease holds and how it is restored is the store's.
//
// Stranded: a take that ran in the broker but whose reply never arrived (the connection dropped, a driver resent
// it) leaves messages held under this live lease that this process never saw; renewals would keep them forever. So
// every half ttl the keeper compares what the store says the lease holds with what the consumer was given, and
// requeues a tag unknown at two checks in a row (the gap lets an in-flight take's reply arrive first).

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ImproperlyConfigured } from '../../errors.js';
import { setLongTimeout, type LongTimer } from '../../utils/long-timer.js';
import type { SettleLost, TransportLease } from '../transport.js';
import type { QueueStoreLeases } from './queue-store.js';

/** broker_transport_options.lease_timeout default, in seconds: a dead worker's messages return within about this. */
export const DEFAULT_LEASE_TIMEOUT_S = 15;

/** How a lease is kept, in ms. */
export interface LeaseTiming {
  /** A lease not renewed for this long is expired (lease_timeout). */
  readonly ttlMs: number;
  /** Renew (and sweep others) this often: a fifth of the ttl, and often enough to keep held messages fresh for kombu's visibility sweep. */
  readonly renewMs: number;
}

/**
 * The lease timing from broker_transport_options (lease_timeout in seconds; 0 or false = no lease, the visibility
 * timeout alone) and the visibility timeout in ms. Throws ImproperlyConfigured for a value that is not a number ≥ 1.
 */
export function leaseTiming(transportOptions: Readonly<Record<string, unknown>>, visibilityMs: number): LeaseTiming | null {
  const raw = transportOptions.lease_timeout ?? DEFAULT_LEASE_TIMEOUT_S;
  if (raw === 0 || raw === false) return null;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 86_400) {
    throw new ImproperlyConfigured(`broker_transport_options.lease_timeout must be a number of seconds from 1 to 86400 (or 0 to turn worker leases off); got ${JSON.stringify(raw)}.`, { context: { setting: 'broker_transport_options' } });
  }
  const ttlMs = seconds * 1000;
  const freshMs = Number.isFinite(visibilityMs) && visibilityMs > 0 ? visibilityMs / 3 : ttlMs;
  return { ttlMs, renewMs: Math.max(200, Math.min(ttlMs / 5, freshMs)) };
}

/** What the keeper needs from its transport. */
export interface LeaseHooks {
  /** Task ids of the deliveries still held under lease `id` (reported when it is lost). */
  outstanding(id: string): string[];
  /** Report settles that can no longer take effect. */
  lost(report: SettleLost): void;
  /** A renew or sweep failed (the broker is unreachable); the keeper retries. */
  error(error: unknown): void;
  /** Called by stop() before the lease is released: retry settles still pending, so they are not restored. */
  beforeRelease(): Promise<void>;
  /** Whether this process was given delivery `tag` under lease `id` and has not settled it yet. */
  knows(id: string, tag: string): boolean;
  /** Put stranded message `tag` back in its queue if lease `id` still holds it (QueueStore.requeue). */
  requeue(tag: string, id: string): Promise<boolean | void>;
  /** Report stranded messages that were given back. */
  stranded(tags: readonly string[]): void;
}

/** A TransportLease over a QueueStore's leases; see the file header. */
export class LeaseKeeper implements TransportLease {
  readonly timeoutSeconds: number;
  private current?: string;
  private users = 0;
  private timer?: LongTimer;
  private ticking?: Promise<void>;
  /** Since when renewals have worked without a failure; sweeping waits for a full ttl of it (see tick). */
  private healthySince?: number;
  /** When held messages were last compared with the deliveries (see the file header), and the tags unknown then. */
  private reconciledAt = Date.now();
  private suspects = new Set<string>();

  constructor(private readonly store: QueueStoreLeases, private readonly timing: LeaseTiming, private readonly hooks: LeaseHooks) {
    this.timeoutSeconds = timing.ttlMs / 1000;
  }

  get id(): string | undefined {
    return this.current;
  }

  async start(): Promise<void> {
    if (this.users++ > 0) return;
    const id = newLeaseId();
    try {
      await this.store.open(id, this.timing.ttlMs);
    } catch (error) {
      this.users--;
      throw error;
    }
    this.current = id;
    this.healthySince = Date.now();
    this.schedule(this.timing.renewMs);
  }

  /** Renew now (a take found the lease gone): a lost lease is replaced at once instead of at the next tick. */
  check(): void {
    if (this.current === undefined || this.ticking) return;
    this.timer?.cancel();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    if (this.users === 0 || --this.users > 0) return;
    await this.end();
  }

  /** Stop however many start() calls share the lease (the transport closing). */
  async close(): Promise<void> {
    if (this.users === 0) return;
    this.users = 0;
    await this.end();
  }

  private async end(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.ticking;
    await this.hooks.beforeRelease();
    const id = this.current;
    this.current = undefined;
    if (id === undefined) return;
    try {
      await this.store.release(id);
    } catch (error) {
      // Unreachable broker: the lease expires by itself and another consumer restores what it still holds.
      this.hooks.error(error);
    }
  }

  private schedule(ms: number): void {
    this.timer = setLongTimeout(() => {
      this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, ms).unref();
  }

  private async tick(): Promise<void> {
    const id = this.current;
    if (id === undefined) return;
    let failed = false;
    try {
      if (!(await this.store.renew(id, this.timing.ttlMs))) await this.replace(id);
      this.healthySince ??= Date.now();
      // Sweep only after a full ttl of working renewals: after a broker outage every lease looks expired on the
      // store's clock, and their live owners need one renewal to show they are alive.
      if (Date.now() - this.healthySince >= this.timing.ttlMs) await this.store.sweep();
      if (Date.now() - this.reconciledAt >= this.timing.ttlMs / 2 && this.current !== undefined) await this.reconcile(this.current);
    } catch (error) {
      failed = true;
      this.healthySince = undefined;
      this.hooks.error(error);
    }
    if (this.current !== undefined) this.schedule(failed ? Math.min(this.timing.renewMs, 1_000) : this.timing.renewMs);
  }

  /** Requeue what the lease holds that this process was never given, at the second check that finds it unknown. */
  private async reconcile(id: string): Promise<void> {
    this.reconciledAt = Date.now();
    const unknown = (await this.store.held(id)).filter((tag) => !this.hooks.knows(id, tag));
    const stranded = unknown.filter((tag) => this.suspects.has(tag));
    this.suspects = new Set(unknown.filter((tag) => !this.suspects.has(tag)));
    const requeued: string[] = [];
    for (const tag of stranded) if ((await this.hooks.requeue(tag, id)) !== false) requeued.push(tag);
    if (requeued.length) this.hooks.stranded(requeued);
  }

  /** The lease was swept (it expired while this process lived): what it held went back; carry on under a new one. */
  private async replace(old: string): Promise<void> {
    const taskIds = this.hooks.outstanding(old);
    const next = newLeaseId();
    if (taskIds.length) {
      this.hooks.lost({
        taskIds,
        reason: `This worker's lease ${old} expired (the broker was unreachable, or the process stalled, for longer than lease_timeout = ${this.timeoutSeconds} s), so the messages it held were returned to their queues while it still had them`,
      });
    }
    // Current only once it exists: a take under it before then would hold rows under no lease at all.
    await this.store.open(next, this.timing.ttlMs);
    this.current = next;
    this.suspects.clear();
  }
}

/** `<host>.<pid>.<random>`: unique, never reused, and says whose it is to someone reading the broker. */
function newLeaseId(): string {
  return `${hostname().slice(0, 100)}.${process.pid}.${randomUUID().slice(0, 8)}`;
}
