// The base Task's hooks are this one no-op, so the worker can tell an overridden hook from the default one and
// skip the default on its hot path (no promise, no try/catch per task).

export const HOOK_NAMES = ['beforeStart', 'onSuccess', 'onFailure', 'onRetry', 'afterReturn'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export function noHook(): void {}

/** Whether `target` (a task) defines `name` with code of its own. */
export function overridesHook(target: object, name: HookName): boolean {
  return (target as Record<HookName, unknown>)[name] !== noHook;
}
