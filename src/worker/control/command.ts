// One remote-control command as the worker's pidbox dispatches it (Celery's Panel entry): its kind, an optional
// old alias, and a handler over the worker's ControlHost. Types and the no-reply marker only.

import type { ControlHost } from './host.js';

/**
 * Returned by a handler whose command must not be answered: Celery's shutdown raises WorkerShutdown inside the
 * pidbox, so Python's worker sends no reply to it, and neither does celeriac's.
 */
export const NO_REPLY: unique symbol = Symbol('no reply');

/** One remote-control command (Celery's Panel entry). */
export interface ControlCommand {
  /** 'inspect' reads, 'control' changes something (Celery's inspect_command / control_command). */
  readonly type: 'inspect' | 'control';
  /** The pre-4.0 name Celery still answers to (dump_conf, dump_active …). */
  readonly alias?: string;
  /** The reply (null for commands Celery answers with None); throwing answers `{ error: message }`. */
  run(host: ControlHost, args: Record<string, unknown>): unknown;
}

/** Commands by their name on the wire (ping, stats, revoke, rate_limit …). */
export type CommandTable = Record<string, ControlCommand>;
