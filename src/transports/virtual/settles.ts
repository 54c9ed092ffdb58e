// Acks and rejects that fail while the broker is unreachable, kept and retried after it comes back. Safe on the
// virtual brokers because a held message keeps its tag across connections (Redis unacked hash, SQL row id) and,
// under a lease, a settle is conditional on the lease still holding it: a late ack never touches a later delivery.
// What can no longer be settled is reported with its task ids (they may run twice).

import { backoffMs } from '../../utils/backoff.js';
import { sleepLong } from '../../utils/long-timer.js';
import type { SettleLost } from '../transport.js';

/** One settle: the store call (false = its lease no longer holds the message), and who to name if it is lost. */
export interface SettleCall {
  readonly run: () => Promise<boolean | void>;
  readonly taskId: string;
  /** 'ack' (reject without requeue included): losing it means the task may run again. Requeue/defer: harmless. */
  readonly kind: 'ack' | 'requeue' | 'defer';
  /** Names the held message (lease and tag), so a lease check can tell a settle still pending from a lost take. */
  readonly key?: string;
}

/** How long close() keeps trying settles still pending before it reports them lost. */
const FLUSH_MS = 5_000;

/** The retry list of one transport; see the file header. */
export class SettleRetry {
  private readonly pending: SettleCall[] = [];
  /** How many pending calls carry each key. */
  private readonly keys = new Map<string, number>();
  private loop?: Promise<void>;
  private rounding?: Promise<boolean>;
  private readonly stopped = new AbortController();

  constructor(
    private readonly isRecoverable: (error: unknown) => boolean,
    private readonly report: (lost: SettleLost) => void,
  ) {}

  /** Settles waiting for the broker. */
  get size(): number {
    return this.pending.length;
  }

  /** Whether a settle of the message named `key` (SettleCall.key) is waiting for a retry. */
  isPending(key: string): boolean {
    return this.keys.has(key);
  }

  /**
   * Run a settle. Resolves when done, or when it failed on an unreachable broker and was kept for a retry; rejects
   * with other failures (the caller reports them), as without this list.
   */
  async run(call: SettleCall): Promise<void> {
    let result: boolean | void;
    try {
      result = await call.run();
    } catch (error) {
      if (this.stopped.signal.aborted || !this.isRecoverable(error)) throw error;
      this.push(call);
      this.loop ??= this.retry().finally(() => (this.loop = undefined));
      return;
    }
    if (result === false) this.notHeld([call]);
  }

  /** One last round for what is pending (bounded in time); what still fails is reported lost. Stops the retries. */
  async flush(): Promise<void> {
    this.stopped.abort();
    const deadline = Date.now() + FLUSH_MS;
    while (this.pending.length && Date.now() < deadline) {
      const done = await Promise.race([this.round(), sleepLong(deadline - Date.now(), { unref: true }).then(() => false)]);
      if (!done) break;
    }
    const left = this.pending.splice(0);
    this.keys.clear();
    const lost = left.filter((c) => c.kind === 'ack');
    if (lost.length) {
      this.report({
        taskIds: lost.map((c) => c.taskId),
        reason: 'Their acks failed while the broker was unreachable and could not be sent before the worker stopped, so the broker will deliver them again',
      });
    }
  }

  private async retry(): Promise<void> {
    for (let attempt = 0; this.pending.length && !this.stopped.signal.aborted; attempt++) {
      await sleepLong(backoffMs(attempt, 200, 5_000), { signal: this.stopped.signal, unref: true });
      if (this.stopped.signal.aborted) return;
      if (await this.round()) attempt = -1;
    }
  }

  /** Retry pending settles in order until one fails on the broker again; true when none is left. One at a time. */
  private round(): Promise<boolean> {
    this.rounding ??= this.roundNow().finally(() => (this.rounding = undefined));
    return this.rounding;
  }

  private async roundNow(): Promise<boolean> {
    while (this.pending.length) {
      const call = this.pending[0]!;
      let result: boolean | void;
      try {
        result = await call.run();
      } catch (error) {
        if (this.isRecoverable(error)) return false;
        this.shift();
        if (call.kind === 'ack') this.report({ taskIds: [call.taskId], reason: `Its ack failed: ${(error as Error).message}` });
        continue;
      }
      this.shift();
      if (result === false) this.notHeld([call]);
    }
    return true;
  }

  private push(call: SettleCall): void {
    this.pending.push(call);
    if (call.key !== undefined) this.keys.set(call.key, (this.keys.get(call.key) ?? 0) + 1);
  }

  private shift(): void {
    const key = this.pending.shift()?.key;
    if (key === undefined) return;
    const n = (this.keys.get(key) ?? 1) - 1;
    if (n > 0) this.keys.set(key, n);
    else this.keys.delete(key);
  }

  private notHeld(calls: SettleCall[]): void {
    const acks = calls.filter((c) => c.kind === 'ack');
    if (!acks.length) return;
    this.report({
      taskIds: acks.map((c) => c.taskId),
      reason: "Its ack came after this worker's lease had expired, and the message had already been returned to its queue",
    });
  }
}
