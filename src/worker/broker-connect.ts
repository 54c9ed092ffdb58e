// The worker's first broker connection (Celery's consumer connect at startup): retried while the broker is not up
// yet, as broker_connection_retry_on_startup and broker_connection_max_retries say, with kombu's pacing
// (2 s, 4 s, … up to 30 s between attempts). Each attempt also walks the failover list once.

import { OperationalError } from '../errors.js';
import { sleepLong } from '../utils/long-timer.js';
import { isBrokerUnreachable } from '../transports/index.js';

/** broker_connection_retry_on_startup (null follows broker_connection_retry) and broker_connection_max_retries. */
export interface StartupRetry {
  /** Retry the first connection; false = the first failure stops the worker. */
  readonly retry: boolean;
  /** Attempts after the first; null = forever. */
  readonly maxRetries: number | null;
}

/** kombu's ensure_connection pacing, in seconds: interval_start 2, interval_step 2, interval_max 30. */
export function startupDelaySeconds(attempt: number): number {
  return Math.min(30, 2 + 2 * attempt);
}

/**
 * Run `open` until it resolves. A broker that cannot be reached (isBrokerUnreachable) is retried per `policy`, logging each as
 * Celery does ("Cannot connect to … Trying again in 2.00 seconds... (1/100)"); other errors (a bad URL) are thrown
 * at once. Gives up with an OperationalError naming the broker and the attempts; `signal` stops the waiting.
 */
export async function connectOnStartup<T>(open: () => Promise<T>, policy: StartupRetry, where: string, warn: (line: string) => void, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (signal?.aborted || !(error instanceof OperationalError) || !isBrokerUnreachable(error)) throw error;
      const reason = error.message;
      if (!policy.retry) throw error;
      if (policy.maxRetries !== null && attempt >= policy.maxRetries) {
        throw new OperationalError(`Cannot connect to the broker at ${where} after ${attempt + 1} attempts (broker_connection_max_retries = ${policy.maxRetries}): ${reason} Check that the broker runs and the URL is right.`, { cause: error, context: { url: where } });
      }
      const delay = startupDelaySeconds(attempt);
      warn(`consumer: Cannot connect to ${where}: ${reason} Trying again in ${delay.toFixed(2)} seconds... (${attempt + 1}/${policy.maxRetries ?? '∞'})`);
      await sleepLong(delay * 1000, signal ? { signal } : {});
    }
  }
}

/** What limitReconnects listens to: a transport's 'connected', 'disconnected' and 'reconnect-failed' events. */
interface ConnectionEvents {
  on(event: 'connected' | 'disconnected' | 'reconnect-failed', listener: (arg?: unknown) => void): unknown;
}

/**
 * broker_connection_retry and broker_connection_max_retries after a connection loss at run time, as Celery's consumer
 * applies them when it reconnects. The loss and each failed reconnect attempt arrive as 'disconnected' events (the
 * Redis and SQL brokers: each failed take) or 'reconnect-failed' (AMQP: each failed connect); 'connected' starts the
 * count over. More than `maxRetries` failed attempts in a row (0: the first one fails; null: retry forever), or any
 * loss when `retry` is false, call `giveUp` once with an OperationalError naming the broker, the attempts and the last cause.
 */
export function limitReconnects(transport: ConnectionEvents, policy: { retry: boolean; maxRetries: number | null }, where: string, giveUp: (error: OperationalError) => void): void {
  let events = 0;
  let gaveUp = false;
  transport.on('connected', () => (events = 0));
  const failure = (cause: unknown) => {
    const failed = ++events - 1;
    if (gaveUp || (policy.retry && (policy.maxRetries === null || failed <= policy.maxRetries))) return;
    gaveUp = true;
    const reason = (cause as Error | undefined)?.message ?? String(cause);
    const limit = policy.retry ? `after ${failed} reconnect attempt(s) (broker_connection_max_retries = ${policy.maxRetries})` : '(broker_connection_retry is false)';
    giveUp(new OperationalError(`The connection to the broker at ${where} was lost and not re-established ${limit}: ${reason.replace(/\.+$/, '')}. The worker stops: check the broker, or set broker_connection_max_retries to null to retry forever.`, { cause, context: { url: where } }));
  };
  transport.on('disconnected', failure);
  transport.on('reconnect-failed', failure);
}
