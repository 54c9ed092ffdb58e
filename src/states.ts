// Task states, as Celery names them on the wire. PENDING is never stored: it means "unknown".

export const PENDING = 'PENDING';
export const RECEIVED = 'RECEIVED';
export const STARTED = 'STARTED';
export const SUCCESS = 'SUCCESS';
export const FAILURE = 'FAILURE';
export const REVOKED = 'REVOKED';
export const REJECTED = 'REJECTED';
export const RETRY = 'RETRY';
export const IGNORED = 'IGNORED';

export type TaskState =
  | typeof PENDING | typeof RECEIVED | typeof STARTED | typeof SUCCESS | typeof FAILURE
  | typeof REVOKED | typeof REJECTED | typeof RETRY | typeof IGNORED
  | (string & {}); // custom states set through updateState

/** States after which a task will not change again (Celery's READY_STATES). */
export const READY_STATES: ReadonlySet<string> = new Set([SUCCESS, FAILURE, REVOKED]);
/** States that mean the task has not finished. */
export const UNREADY_STATES: ReadonlySet<string> = new Set([PENDING, RECEIVED, STARTED, REJECTED, RETRY]);
/** States whose result is an exception document. */
export const EXCEPTION_STATES: ReadonlySet<string> = new Set([RETRY, FAILURE, REVOKED]);
/** States that propagate as an error from AsyncResult.get(). */
export const PROPAGATE_STATES: ReadonlySet<string> = new Set([FAILURE, REVOKED]);

// Celery's precedence: a later stored state may not replace a "more final" one.
const PRECEDENCE = [SUCCESS, FAILURE, REVOKED, RETRY, STARTED, RECEIVED, REJECTED, PENDING];

/** Lower is more final; unknown (custom) states sit just before PENDING, as in Celery. */
export function precedence(state: string): number {
  const i = PRECEDENCE.indexOf(state);
  return i === -1 ? PRECEDENCE.indexOf(REJECTED) + 0.5 : i;
}
