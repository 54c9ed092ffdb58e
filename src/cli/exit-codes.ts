// Exit codes: 0 success, 1 task failure, 2 usage error, 64+ (sysexits) for environment problems.

import { isNetworkError } from '../drivers/network-errors.js';
import { CeleryError, ImproperlyConfigured, ModuleLoadError, OperationalError } from '../errors.js';
import { userFrames } from '../utils/stack.js';

/** Exit codes as Celery's (sysexits): success. */
export const EX_OK = 0;
/** A command failed. */
export const EX_FAILURE = 1;
/** Bad flags or arguments. */
export const EX_USAGE = 2;
/** The broker or backend cannot be reached. */
export const EX_UNAVAILABLE = 69;
/** Configuration is wrong (bad setting, app module not found). */
export const EX_CONFIG = 78;

/**
 * One line saying what went wrong and what to do, plus the exit code. A module that raised while loading also gets
 * its own stack frames (file:line of the user's code, celeriac's internals left out), as Celery prints the traceback.
 */
export function describeFailure(error: unknown): { code: number; line: string } {
  const e = error as Error & { code?: string; exitCode?: number };
  if (e?.exitCode === EX_USAGE) return { code: EX_USAGE, line: `Usage error: ${e.message}` };
  if (ModuleLoadError.is(error)) {
    const raised = rootCause(error);
    const frames = raised instanceof Error ? userFrames(raised) : '';
    return { code: EX_CONFIG, line: `Error: ${e.message}${frames ? `\n${frames}` : ''}` };
  }
  if (error instanceof ImproperlyConfigured || (error instanceof CeleryError && error.code === 'IMPROPERLY_CONFIGURED')) {
    return { code: EX_CONFIG, line: `Error: ${e.message}` };
  }
  // celeriac's own OperationalErrors already say what to check; a bare driver error gets the general advice.
  if (error instanceof OperationalError) return { code: EX_UNAVAILABLE, line: `Error: ${e.message}` };
  if (isNetworkError(error)) {
    return { code: EX_UNAVAILABLE, line: `Error: cannot reach the broker or result backend: ${e.message.replace(/\.+$/, '')}. Is the server running and the URL right (-b / --result-backend)?` };
  }
  return { code: EX_FAILURE, line: `Error: ${e?.message ?? String(error)}` };
}

/** The first error in the `cause` chain that celeriac did not raise itself (the user's own), if any. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10 && CeleryError.is(current); depth++) current = (current as Error).cause;
  return current;
}
