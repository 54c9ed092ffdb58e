// The one classification of AMQP failures: connection loss (worth a reconnect and a retry) versus a broker's
// refusal on one channel (404, 403, 406 …: not cured by reconnecting), and the errors a user reads for each.
// Messages name the redacted URL only.

import { NETWORK_ERROR_CODES } from '../../drivers/network-errors.js';
import { redactText } from '../../config/urls.js';
import { ImproperlyConfigured, OperationalError } from '../../errors.js';
import type { AmqpEndpoint } from './connection-options.js';

/** AMQP reply codes that close the whole connection (connection-forced, frame errors …): worth a reconnect. */
const CONNECTION_REPLY_CODES: ReadonlySet<number> = new Set([320, 501, 502, 503, 504, 505, 506, 530, 540, 541]);
/** amqplib's texts for an operation on a channel or connection that is gone. */
const CLOSED_TEXT = /channel closed|connection closed|channel ended|socket closed|unexpected close|heartbeat timeout|connection ended/i;

/**
 * A channel-level refusal by the broker (404 no such exchange or queue, 403 access refused, 406 precondition
 * failed …): not cured by reconnecting. `replyCode` is the AMQP reply code.
 */
export class AmqpChannelError extends OperationalError {
  constructor(message: string, readonly replyCode: number, options: { cause?: unknown; context?: { url?: string; queue?: string } } = {}) {
    super(message, options);
  }
}

/** The AMQP reply code amqplib put on an error (a number), if any. */
export function replyCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Whether a reply code is a channel-level refusal (as opposed to one that closes the connection). */
export function isChannelRefusal(code: number | undefined): code is number {
  return code !== undefined && !CONNECTION_REPLY_CODES.has(code);
}

/** The operation failed because the connection or channel went away (not because the broker refused it). */
export function isConnectionLoss(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code)) return true;
  if (typeof e.code === 'number') return CONNECTION_REPLY_CODES.has(e.code);
  return e.name === 'IllegalOperationError' || (typeof e.message === 'string' && CLOSED_TEXT.test(e.message));
}

/**
 * Transport.isRecoverable for AMQP (kombu's connection_errors): connection losses and our OperationalErrors, but
 * never a channel refusal or a configuration mistake.
 */
export function isRecoverableAmqpError(error: unknown): boolean {
  if (error instanceof AmqpChannelError || error instanceof ImproperlyConfigured) return false;
  return error instanceof OperationalError || isConnectionLoss(error);
}

/** An error's message with any URL password hidden. */
export function errorText(error: unknown): string {
  return redactText(error instanceof Error ? error.message : String(error));
}

/** The error for an operation on a transport that was closed. */
export function closedError(displayUrl: string): OperationalError {
  return new OperationalError(`The transport to ${displayUrl} is closed. Open a new one to keep using the broker.`, { context: { url: displayUrl } });
}

/** The error for a failed connect to one endpoint: refused login, refused vhost, or unreachable. */
export function connectionError(error: unknown, endpoint: AmqpEndpoint): OperationalError {
  const text = errorText(error);
  if (/ACCESS_REFUSED|auth/i.test(text) || replyCodeOf(error) === 403) {
    return new OperationalError(`The broker at ${endpoint.redacted} refused the login: ${text}. Check the user name and password in the broker URL.`, { cause: error, context: { url: endpoint.redacted } });
  }
  if (replyCodeOf(error) === 530 || /vhost|NOT_ALLOWED/i.test(text)) {
    return new OperationalError(`The broker at ${endpoint.redacted} refused virtual host '${decodeURIComponent(endpoint.vhost)}': ${text}. Check that the vhost exists and the user may use it.`, { cause: error, context: { url: endpoint.redacted } });
  }
  return new OperationalError(`Cannot connect to the broker at ${endpoint.redacted}: ${text}. Check that RabbitMQ is running and reachable there, and the host and port in the broker URL.`, { cause: error, context: { url: endpoint.redacted } });
}

/** The error for a channel-level refusal of `what` (e.g. "declare queue q"), with a hint for 404 and 403. */
export function channelError(displayUrl: string, what: string, error: unknown, code: number, context: { queue?: string } = {}): AmqpChannelError {
  const hint = code === 404 ? ' Declare it first (declare a queue bound to it), or check the name.' : code === 403 ? ' Check the user\'s permissions on this virtual host.' : '';
  return new AmqpChannelError(`Could not ${what} on ${displayUrl}: ${errorText(error)}.${hint}`, code, { cause: error, context: { url: displayUrl, ...context } });
}
