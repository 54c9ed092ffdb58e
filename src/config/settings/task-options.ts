// The mapping between Celery's snake_case task options (decorator arguments, task_annotations keys) and
// celeriac's camelCase TaskOptions fields. Names only: the option types and defaults live in task/task.ts.

/** Celery task option (snake_case) → celeriac TaskOptions field (camelCase). */
export const TASK_OPTION_NAMES = {
  name: 'name',
  bind: 'bind',
  base: 'base',
  typing: 'typing',
  throws: 'throws',
  acks_late: 'acksLate',
  acks_on_failure_or_timeout: 'acksOnFailureOrTimeout',
  reject_on_worker_lost: 'rejectOnWorkerLost',
  max_retries: 'maxRetries',
  default_retry_delay: 'defaultRetryDelay',
  rate_limit: 'rateLimit',
  time_limit: 'timeLimit',
  soft_time_limit: 'softTimeLimit',
  ignore_result: 'ignoreResult',
  store_errors_even_if_ignored: 'storeErrorsEvenIfIgnored',
  track_started: 'trackStarted',
  serializer: 'serializer',
  compression: 'compression',
  queue: 'queue',
  routing_key: 'routingKey',
  exchange: 'exchange',
  priority: 'priority',
  expires: 'expires',
  autoretry_for: 'autoretryFor',
  retry_kwargs: 'retryKwargs',
  retry_backoff: 'retryBackoff',
  retry_backoff_max: 'retryBackoffMax',
  retry_jitter: 'retryJitter',
} as const;

/** A Celery task option name. */
export type TaskOptionName = keyof typeof TASK_OPTION_NAMES;

const TO_SNAKE: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(TASK_OPTION_NAMES).map(([snake, camel]) => [camel, snake]));

/**
 * camelCase field for a Celery task option: `'rate_limit'` → `'rateLimit'`. Names outside the table (annotations may
 * set any attribute, e.g. `on_failure`) are converted by rule; names without `_` come back unchanged.
 */
export function taskOptionToCamel(snake: string): string {
  return (TASK_OPTION_NAMES as Readonly<Record<string, string>>)[snake] ?? snake.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Celery's snake_case name for a camelCase field: `'acksLate'` → `'acks_late'`; the inverse of taskOptionToCamel. */
export function toSnake(camel: string): string {
  return TO_SNAKE[camel] ?? camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Rename the keys of Celery-style options (e.g. one task_annotations entry) to TaskOptions fields; values are kept. */
export function taskOptionsToCamel(options: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [taskOptionToCamel(k), v]));
}
