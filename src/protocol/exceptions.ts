// Errors ↔ Celery's exception documents {exc_type, exc_message, exc_module}. REDIS-WIRE.md §6.1.

import { RemoteTaskError, type ErrorContext } from '../errors.js';
import { userStack } from '../utils/stack.js';

/** Celery's stored exception: class name, message (usually args) and module (`builtins` for Python builtins). */
export interface ExceptionDoc {
  exc_type: string;
  exc_message: unknown;
  exc_module: string | null;
}

// Python builtin exception names a JS error may keep: Python rebuilds these as real builtins.
const PYTHON_BUILTINS = new Set([
  'Exception', 'ValueError', 'TypeError', 'KeyError', 'IndexError', 'RuntimeError', 'ZeroDivisionError',
  'AttributeError', 'NotImplementedError', 'AssertionError', 'LookupError', 'ArithmeticError', 'OSError',
  'IOError', 'MemoryError', 'RecursionError', 'OverflowError', 'PermissionError', 'FileNotFoundError',
  'ConnectionError', 'TimeoutError',
]);

// celeriac's error classes that have a Celery namesake keep the module Celery writes for them (billiard's for the
// pool's errors, kombu's for EncodeError), so Python rebuilds them as the same class.
const CELERY_MODULES: Record<string, string> = {
  TaskRevokedError: 'celery.exceptions', ChordError: 'celery.exceptions', NotRegistered: 'celery.exceptions',
  MaxRetriesExceededError: 'celery.exceptions', Retry: 'celery.exceptions', Reject: 'celery.exceptions', Ignore: 'celery.exceptions',
  InvalidTaskError: 'celery.exceptions',
  TimeLimitExceeded: 'billiard.exceptions', SoftTimeLimitExceeded: 'billiard.exceptions', WorkerLostError: 'billiard.exceptions',
  EncodeError: 'kombu.exceptions',
};

/** Module written for JS errors with no Python namesake: not importable in Python, so it builds a synthetic class. */
export const JS_EXCEPTION_MODULE = 'celeriac.errors';

/** Turn anything thrown into Celery's exception document. */
export function exceptionToDoc(error: unknown): ExceptionDoc {
  if (error instanceof RemoteTaskError) {
    return { exc_type: error.excType, exc_message: error.excMessage, exc_module: error.excModule };
  }
  if (error instanceof Error) {
    const name = error.name || 'Error';
    const module = PYTHON_BUILTINS.has(name) ? 'builtins' : (CELERY_MODULES[name] ?? JS_EXCEPTION_MODULE);
    const args = (error as { excArgs?: readonly unknown[] }).excArgs;
    return { exc_type: name, exc_message: args ? [...args] : [error.message], exc_module: module };
  }
  return { exc_type: 'Exception', exc_message: [typeof error === 'string' ? error : safeString(error)], exc_module: 'builtins' };
}

/**
 * The traceback text stored beside a failure (and logged): the JS stack without celeriac's and Node's internal frames,
 * or Python's text when the error came from Python.
 */
export function tracebackOf(error: unknown): string | null {
  if (error instanceof RemoteTaskError) return error.remoteTraceback;
  if (error instanceof Error) return error.stack ? userStack(error.stack) : `${error.name}: ${error.message}`;
  return null;
}

/** Whether a stored result looks like an exception document (has a string exc_type). */
export function isExceptionDoc(v: unknown): v is ExceptionDoc {
  return typeof v === 'object' && v !== null && typeof (v as ExceptionDoc).exc_type === 'string';
}

/** Rebuild a stored failure as a typed error carrying the remote type, message, module and traceback. */
export function docToError(doc: unknown, traceback: string | null, context: ErrorContext = {}): RemoteTaskError {
  if (isExceptionDoc(doc)) {
    return new RemoteTaskError(doc.exc_type, doc.exc_message, doc.exc_module ?? null, traceback, context);
  }
  return new RemoteTaskError('Exception', [safeString(doc)], null, traceback, context);
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
