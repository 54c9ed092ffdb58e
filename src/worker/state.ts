// What the worker holds: active and reserved requests, revoked ids, counters. Feeds logs, shutdown and inspect.

import type { Request } from './request.js';

const MAX_REVOKED = 50_000; // Celery keeps a bounded LimitedSet of revoked ids; so do we.

export class WorkerState {
  /** Started, not finished. */
  readonly active = new Map<string, Request>();
  /** Received, waiting for an ETA, a rate-limit token or a free slot. */
  readonly reserved = new Map<string, Request>();
  /** Revoked task ids, oldest first. */
  readonly revoked = new Set<string>();
  /** Finished tasks per name (inspect stats: total). */
  readonly total = new Map<string, number>();
  processed = 0;
  readonly startedAt = Date.now();

  revoke(id: string): void {
    this.revoked.delete(id);
    this.revoked.add(id);
    if (this.revoked.size > MAX_REVOKED) this.revoked.delete(this.revoked.values().next().value as string);
  }

  finished(name: string): void {
    this.processed++;
    this.total.set(name, (this.total.get(name) ?? 0) + 1);
  }
}
