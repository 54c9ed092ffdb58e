// One classification of socket-level failures for every driver (kombu's connection_errors, the part that is the
// operating system's): a refused, reset, timed-out or unresolvable connection is worth a reconnect. Drivers add
// their own server-side codes (PostgreSQL's SQLSTATE class 08, AMQP's connection reply codes) on top of it.

/**
 * Node's socket and DNS error codes that mean "the server could not be reached or the connection broke", not
 * "the server refused the request". `ENOTFOUND`/`EAI_AGAIN` are included: DNS may come back, and a failover list
 * moves on to its next host.
 */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTCONN',
  'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
]);

/** How many `cause` links are followed: drivers and our OperationalError wrap once or twice, never deeper. */
const MAX_CAUSE_DEPTH = 4;

/**
 * Whether `error`, or an error in its `cause` chain (at most 4 deep), carries one of NETWORK_ERROR_CODES as its
 * string `code`. Never throws; false for non-errors.
 */
export function isNetworkError(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < MAX_CAUSE_DEPTH; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  }
  return false;
}
