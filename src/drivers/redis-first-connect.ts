// The first connection of a Redis client, bounded by broker_connection_timeout (redis-py's socket_connect_timeout
// plays this part for kombu): a server that never answered fails the waiting commands within that time instead of
// after every retry of every command, and stops reconnecting, so a script that caught the error can exit.

/** The state of one client's first connection; once a connection was ready, reconnects are never bounded here. */
export class FirstConnect {
  private startedAt = 0;
  private attempts = 0;
  private lastError: (Error & { code?: unknown }) | undefined;
  private connected = false;
  private closed = false;
  /** True after the bound ran out with no connection: the client is ended; the next command starts afresh. */
  gaveUp = false;

  /** @param timeoutMs how long the first connection may take, all attempts together (ms). */
  constructor(private readonly timeoutMs: number) {}

  /** A connection attempt starts (ioredis 'connecting'): the clock runs from the first one. */
  attempt(): void {
    if (this.startedAt === 0) this.startedAt = Date.now();
    this.attempts++;
  }

  /** An attempt failed with this error (ioredis 'error'). */
  failed(error: unknown): void {
    // A cluster's "Failed to refresh slots cache" carries the node's own reason (a wrong password) as lastNodeError.
    const cause = (error as { lastNodeError?: unknown } | null)?.lastNodeError ?? error;
    if (cause instanceof Error) this.lastError = cause;
  }

  /** The connection is ready: from now on the driver's own reconnect rules apply. */
  ready(): void {
    this.connected = true;
    this.gaveUp = false;
  }

  /** ioredis retryStrategy: the delay before the next attempt (ms), or null to give up (the bound ran out). */
  retryDelay(times: number): number | null {
    const delay = Math.min(times * 50, 2_000);
    // Give up when the next attempt would start past the bound: the whole failure fits in timeoutMs.
    if (!this.connected && this.startedAt !== 0 && Date.now() - this.startedAt + delay >= this.timeoutMs) {
      this.gaveUp = true;
      return null;
    }
    return delay;
  }

  /** The client was closed on purpose: never start a new attempt for it. */
  close(): void {
    this.gaveUp = false;
    this.closed = true;
  }

  /** Whether the next command should start a new attempt window (given up, not closed). */
  get mayRestart(): boolean {
    return this.gaveUp && !this.closed;
  }

  /** Start a new bounded attempt window (the next command after giving up). */
  restart(): void {
    this.gaveUp = false;
    this.startedAt = 0;
    this.attempts = 0;
  }

  /**
   * Rewrite, in place, the driver's closing error that rejected a command when the bound ran out: say how
   * long and how many attempts, with the last cause (its `code` kept, so it still reads as a network error).
   */
  explain(error: unknown): void {
    // "Connection is closed." (a server), "None of startup nodes is available" (a cluster that never answered).
    if (!this.gaveUp || !(error instanceof Error) || !/^(Connection is closed|None of startup nodes is available)/.test(error.message)) return;
    const last = this.lastError;
    const seconds = Math.round(this.timeoutMs / 100) / 10;
    error.message = `no connection could be made within ${seconds} s (${this.attempts} attempts${last ? `; last: ${last.message}` : ''})`;
    if (last && typeof last.code === 'string') (error as Error & { code?: unknown }).code = last.code;
  }
}
