// The base Task's hooks are this one no-op, so the worker can tell an overridden hook from the default one and
// skip the default on its hot path (no promise, no try/catch per task).

/** The Task handler methods (Celery's before_start, on_success, on_failure, on_retry, after_return). */
export const HOOK_NAMES = ['beforeStart', 'onSuccess', 'onFailure', 'onRetry', 'afterReturn'] as const;
/** One of HOOK_NAMES. */
export type HookName = (typeof HOOK_NAMES)[number];

/** The shared no-op every base hook is: overridesHook compares against it. */
export function noHook(): void {}

/** Whether `target` (a task) defines `name` with code of its own. */
export function overridesHook(target: object, name: HookName): boolean {
  return (target as Record<HookName, unknown>)[name] !== noHook;
}
