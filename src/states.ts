// Task states, as Celery names them on the wire. PENDING is never stored: it means "unknown".

/** Unknown task: never stored, it is what a missing result means (Celery's PENDING). */
export const PENDING = 'PENDING';
/** The worker has the message (only in events; Celery's RECEIVED). */
export const RECEIVED = 'RECEIVED';
/** The task began running; stored only with task_track_started (Celery's STARTED). */
export const STARTED = 'STARTED';
/** The task returned; the result is its return value. Final: never overwritten (Celery's SUCCESS). */
export const SUCCESS = 'SUCCESS';
/** The task threw; the result is an exception document (Celery's FAILURE). */
export const FAILURE = 'FAILURE';
/** Revoked, expired or terminated; the result is a TaskRevokedError document (Celery's REVOKED). */
export const REVOKED = 'REVOKED';
/** The message was rejected (Reject thrown, or undecodable); events only (Celery's REJECTED). */
export const REJECTED = 'REJECTED';
/** A retry was scheduled; the result is the exception that caused it (Celery's RETRY). */
export const RETRY = 'RETRY';
/** The task threw Ignore: nothing stored (Celery's IGNORED). */
export const IGNORED = 'IGNORED';

/** A task state: one of Celery's built-in names, or a custom one stored with updateState (e.g. 'PROGRESS'). */
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
