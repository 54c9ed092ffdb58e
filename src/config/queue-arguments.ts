// The queue arguments a declaration of one queue carries (kombu's queue_arguments), the same in the worker and the
// client so both declare a queue identically (RabbitMQ refuses a second declaration with other arguments):
// task_queues' own queue_arguments, else the queue type of the default queue (task_default_queue_type) or of a
// queue created because it was missing (task_create_missing_queue_type), Celery 5.5's settings.

/** Reads a setting by its Celery name (app.conf.get). */
export type SettingReader = (name: string) => unknown;

/**
 * Arguments for declaring `queue`: `{ 'x-queue-type': 'quorum' }` for a quorum queue, the queue_arguments of its
 * task_queues entry, or undefined when there are none (a classic queue).
 */
export function queueArgumentsFor(queue: string, setting: SettingReader): Record<string, unknown> | undefined {
  const configured = setting('task_queues') as Array<Record<string, unknown>> | null;
  const entry = configured?.find((q) => String(q.name) === queue);
  if (entry) {
    const args = entry.queue_arguments;
    return args && typeof args === 'object' && Object.keys(args).length > 0 ? { ...(args as Record<string, unknown>) } : undefined;
  }
  const type = queue === setting('task_default_queue') && !configured ? setting('task_default_queue_type') : setting('task_create_missing_queue_type');
  return type === 'quorum' ? { 'x-queue-type': 'quorum' } : undefined;
}

/** True when the arguments make a RabbitMQ quorum queue. */
export function isQuorum(args: Readonly<Record<string, unknown>> | undefined): boolean {
  return args?.['x-queue-type'] === 'quorum';
}
