// What the worker holds: active, reserved and broker-parked requests, revoked ids and stamps, counters. Feeds
// logs, shutdown, revoke checks and the inspect/control commands.

import type { DeliveryInfo } from '../transports/transport.js';
import type { TaskMessage } from '../protocol/task-message.js';
import type { Request } from './request.js';

/** An ETA task this worker handed back to the broker until due (Delivery.defer): still its scheduled task. */
export interface ParkedRequest {
  readonly message: TaskMessage;
  readonly deliveryInfo: DeliveryInfo;
  /** The message's priority property (kombu's virtual transports always carry one), if any. */
  readonly priority?: unknown;
  /** Epoch ms. */
  readonly eta: number;
}

// Celery keeps revoked ids in a LimitedSet of 50 000 entries, each forgotten after 3 hours (REVOKES_MAX,
// REVOKE_EXPIRES); so do we.
const MAX_REVOKED = 50_000;
const REVOKE_EXPIRES_MS = 3 * 3600 * 1000;
// Revoked stamps (revoke_by_stamped_headers) are bounded too: values per header and headers.
const MAX_STAMP_VALUES = 10_000;
const MAX_STAMP_HEADERS = 1_000;
// Parked ETA tasks remembered for inspect scheduled and for sending task-received once; oldest forgotten first.
const MAX_PARKED = 100_000;
const RECENT = 8;

/** The worker's task sets (Celery's worker.state): active, reserved, scheduled and revoked ids, and counters. */
export class WorkerState {
  /** Started, not finished. */
  readonly active = new Map<string, Request>();
  /** Received, waiting for an ETA, a rate-limit token or a free slot. */
  readonly reserved = new Map<string, Request>();
  /** ETA tasks handed back to the broker until due, by id (they come back through the consumer). */
  readonly parked = new Map<string, ParkedRequest>();
  /** Revoked task id → when it was revoked (epoch ms), oldest first. */
  readonly revoked = new Map<string, number>();
  /** Stamp header → revoked stamp values (Celery's revoked_stamps). */
  readonly revokedStamps = new Map<string, unknown[]>();
  /** Finished tasks per name (inspect stats: total). */
  readonly total = new Map<string, number>();
  processed = 0;
  // The last RECENT finished requests and when each ended (ms), a ring: a blocked event loop is noticed only after
  // the task that blocked it has finished.
  private readonly recent: Array<Request | undefined> = new Array(RECENT);
  private readonly recentEnd = new Float64Array(RECENT);
  private recentAt = 0;
  readonly startedAt = Date.now();
  /**
   * Called with how many revoked ids, not yet expired, were just forgotten because the list holds 50,000 already
   * (Celery's REVOKES_MAX): a task with such an id runs if it arrives now. The worker logs it.
   */
  onRevokedOverflow: ((forgotten: number, max: number) => void) | null = null;

  /** Remember a revoked id (at `at`, epoch ms; default now). */
  revoke(id: string, at = Date.now()): void {
    this.revoked.delete(id);
    this.revoked.set(id, at);
    this.purgeRevoked();
  }

  /** Revoked ids still remembered, oldest first (expired ones dropped). */
  revokedIds(): string[] {
    this.purgeRevoked();
    return [...this.revoked.keys()];
  }

  /** Add stamp values revoked under `header` (revoke_by_stamped_headers). */
  revokeStamps(header: string, values: readonly unknown[]): void {
    if (!this.revokedStamps.has(header) && this.revokedStamps.size >= MAX_STAMP_HEADERS) {
      this.revokedStamps.delete(this.revokedStamps.keys().next().value as string);
    }
    const merged = [...(this.revokedStamps.get(header) ?? []), ...values];
    this.revokedStamps.set(header, merged.slice(-MAX_STAMP_VALUES));
  }

  /**
   * Why a message must not run: 'revoked' by id, or the first `{ header: value }` whose stamp was revoked (a list
   * stamp matches when any of its values was); null when it may run. Celery's Request.revoked() minus expiry.
   */
  revokedBy(message: Pick<TaskMessage, 'id' | 'stampedHeaders' | 'stamps'>): 'id' | Record<string, unknown> | null {
    const at = this.revoked.get(message.id);
    if (at !== undefined && Date.now() - at < REVOKE_EXPIRES_MS) return 'id';
    if (this.revokedStamps.size === 0) return null;
    for (const header of message.stampedHeaders ?? []) {
      const revoked = this.revokedStamps.get(header);
      if (!revoked) continue;
      const stamp = message.stamps?.[header];
      for (const value of Array.isArray(stamp) ? stamp : [stamp]) {
        if (revoked.some((r) => sameStamp(r, value))) return { [header]: value };
      }
    }
    return null;
  }

  /** Remember a parked ETA task (replacing an older entry of the same id). */
  park(entry: ParkedRequest): void {
    this.parked.delete(entry.message.id);
    this.parked.set(entry.message.id, entry);
    if (this.parked.size > MAX_PARKED) this.parked.delete(this.parked.keys().next().value as string);
  }

  /** Forget a parked task when it comes back; true when this worker had parked it (its task-received was sent). */
  unpark(id: string): boolean {
    return this.parked.delete(id);
  }

  finished(request: Request): void {
    const name = request.task.name;
    this.processed++;
    this.total.set(name, (this.total.get(name) ?? 0) + 1);
    const slot = this.recentAt++ % RECENT;
    this.recent[slot] = request;
    this.recentEnd[slot] = Date.now();
  }

  /** The requests running now and those finished since `sinceMs` (epoch ms; the last few only), for blame. */
  runningSince(sinceMs: number): Request[] {
    const out = [...this.active.values()];
    for (let i = 0; i < RECENT; i++) {
      const request = this.recent[i];
      if (request && this.recentEnd[i]! >= sinceMs && !out.includes(request)) out.push(request);
    }
    return out;
  }

  private purgeRevoked(): void {
    const oldest = Date.now() - REVOKE_EXPIRES_MS;
    let forgotten = 0;
    for (const [id, at] of this.revoked) {
      if (this.revoked.size <= MAX_REVOKED && at >= oldest) break;
      if (at >= oldest) forgotten++;
      this.revoked.delete(id);
    }
    if (forgotten > 0) this.onRevokedOverflow?.(forgotten, MAX_REVOKED);
  }
}

/** Stamp values compare by value for JSON scalars and arrays/objects alike (they come off the wire). */
function sameStamp(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
