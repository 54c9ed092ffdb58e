// Celery's task_* settings (sending, executing, routing): names, types, defaults, docs and old names.
// Data only. Old names follow Celery's rule for this namespace (CELERY_X) plus the renames Celery documents.

import {
  any, bool, choice, compression, dict, int, rate, seconds, serializer, string, APPLIED, accepted, planned, type StatusOf,
} from './spec.js';

/** How task messages are written and sent (Celery's "Task settings"). */
export const TASK_SENDING = {
  task_serializer: serializer('json', 'Default serializer for task messages.', { old: ['CELERY_TASK_SERIALIZER'] }),
  task_compression: compression('Default compression for task messages; null = none.', { old: ['CELERY_MESSAGE_COMPRESSION', 'CELERY_COMPRESSION'] }),
  task_protocol: choice(2, [1, 2], 'Task message protocol version to send.', { old: ['CELERY_TASK_PROTOCOL'] }),
  task_annotations: any(null, 'Per-task option overrides: { "tasks.add": { rate_limit: "10/m" } }, "*" for all, or a list of those.', { old: ['CELERY_ANNOTATIONS'] }),
  task_publish_retry: bool(true, 'Retry publishing when the broker connection fails.', { old: ['CELERY_TASK_PUBLISH_RETRY', 'CELERY_PUBLISH_RETRY'] }),
  task_publish_retry_policy: dict(
    { max_retries: 3, interval_start: 0, interval_step: 0.2, interval_max: 0.2 },
    'Publish retry policy: max_retries, interval_start, interval_step, interval_max (seconds).',
    { old: ['CELERY_TASK_PUBLISH_RETRY_POLICY', 'CELERY_PUBLISH_RETRY_POLICY'] },
  ),
  task_send_sent_event: bool(false, 'Send a task-sent event for every task published.', { old: ['CELERY_SEND_TASK_SENT_EVENT', 'CELERY_SEND_SENT_EVENT'] }),
};

/** Whether celeriac honours each TASK_SENDING setting (see SettingStatus). */
export const TASK_SENDING_STATUS: StatusOf<typeof TASK_SENDING> = {
  task_serializer: APPLIED,
  task_compression: APPLIED,
  task_protocol: accepted('celeriac always sends protocol 2 (it reads protocol 1)'),
  task_annotations: APPLIED,
  task_publish_retry: APPLIED,
  task_publish_retry_policy: APPLIED,
  task_send_sent_event: APPLIED,
};

/** How tasks run and report (Celery's "Task execution settings"). */
export const TASK_EXECUTION = {
  task_always_eager: bool(false, 'Run tasks locally and at once instead of sending them (tests, debugging).', { old: ['CELERY_ALWAYS_EAGER', 'CELERY_TASK_ALWAYS_EAGER'] }),
  task_eager_propagates: bool(false, 'Eagerly run tasks rethrow their errors.', { old: ['CELERY_EAGER_PROPAGATES_EXCEPTIONS', 'CELERY_EAGER_PROPAGATES'] }),
  task_store_eager_result: bool(false, 'Eagerly run tasks store their results in the backend.', { old: ['CELERY_STORE_EAGER_RESULT'] }),
  task_remote_tracebacks: bool(false, 'Errors rebuilt from results carry the worker\'s stack.', { old: ['CELERY_REMOTE_TRACEBACKS'] }),
  task_ignore_result: bool(false, 'Do not store task return values.', { old: ['CELERY_IGNORE_RESULT'] }),
  task_store_errors_even_if_ignored: bool(false, 'Store failures even for tasks that ignore results.', { old: ['CELERY_STORE_ERRORS_EVEN_IF_IGNORED'] }),
  task_track_started: bool(false, 'Report STARTED when a worker begins a task.', { old: ['CELERY_TRACK_STARTED', 'CELERY_TASK_TRACK_STARTED'] }),
  task_time_limit: seconds(null, 'Hard time limit per task, seconds; the task is terminated. null = none.', { old: ['CELERYD_TASK_TIME_LIMIT', 'CELERYD_TIME_LIMIT'] }),
  task_soft_time_limit: seconds(null, 'Soft time limit per task, seconds; the task gets SoftTimeLimitExceeded. null = none.', { old: ['CELERYD_TASK_SOFT_TIME_LIMIT', 'CELERYD_SOFT_TIME_LIMIT'] }),
  task_acks_late: bool(false, 'Acknowledge after the task returns instead of just before it runs.', { old: ['CELERY_ACKS_LATE'] }),
  task_acks_on_failure_or_timeout: bool(true, 'With acks_late: acknowledge even when the task fails or times out.', { old: ['CELERY_ACKS_ON_FAILURE_OR_TIMEOUT'] }),
  task_reject_on_worker_lost: bool(false, 'With acks_late: requeue when the process running the task dies.', { old: ['CELERY_REJECT_ON_WORKER_LOST', 'CELERY_TASK_REJECT_ON_WORKER_LOST'] }),
  task_default_rate_limit: rate('Rate limit for tasks without their own ("10/m"); null = none.', { old: ['CELERY_DEFAULT_RATE_LIMIT'] }),
  task_allow_error_cb_on_chord_header: bool(false, 'link_error on a chord also links each header task.', { old: ['CELERY_ALLOW_ERROR_CB_ON_CHORD_HEADER'] }),
};

/** Whether celeriac honours each TASK_EXECUTION setting (see SettingStatus). */
export const TASK_EXECUTION_STATUS: StatusOf<typeof TASK_EXECUTION> = {
  task_always_eager: APPLIED,
  task_eager_propagates: APPLIED,
  task_store_eager_result: APPLIED,
  task_remote_tracebacks: accepted('it rebuilds Python tracebacks with tblib; celeriac keeps the worker\'s traceback text on the error'),
  task_ignore_result: APPLIED,
  task_store_errors_even_if_ignored: APPLIED,
  task_track_started: APPLIED,
  task_time_limit: APPLIED,
  task_soft_time_limit: APPLIED,
  task_acks_late: APPLIED,
  task_acks_on_failure_or_timeout: APPLIED,
  task_reject_on_worker_lost: APPLIED,
  task_default_rate_limit: APPLIED,
  task_allow_error_cb_on_chord_header: planned('link_error on a chord links only the body'),
};

const EXCHANGE_TYPES = ['direct', 'topic', 'fanout', 'headers'] as const;
const QUEUE_TYPES = ['classic', 'quorum'] as const;

/** Queues, exchanges and routes (Celery's "Message Routing"). */
export const TASK_ROUTING = {
  task_queues: any(null, 'Queues a worker consumes: a list of queue declarations; null = just task_default_queue.', { old: ['CELERY_QUEUES'] }),
  task_routes: any(null, 'Routers consulted in order: { "tasks.add": "low-priority", "feed.*": { queue: "feeds" } }, functions, or a list.', { old: ['CELERY_ROUTES'] }),
  task_queue_max_priority: int(null, 'x-max-priority of declared queues (RabbitMQ); null = no priorities.', { old: ['CELERY_QUEUE_MAX_PRIORITY'], min: 1 }),
  task_default_priority: int(null, 'Priority of tasks that set none; null = the broker\'s default.', { old: ['CELERY_DEFAULT_PRIORITY'], min: 0 }),
  task_inherit_parent_priority: bool(false, 'Tasks sent from a task inherit its priority.', { old: ['CELERY_INHERIT_PARENT_PRIORITY'] }),
  task_create_missing_queues: bool(true, 'Declare queues named in routes but missing from task_queues.', { old: ['CELERY_CREATE_MISSING_QUEUES'] }),
  task_create_missing_queue_type: choice('classic', QUEUE_TYPES, 'RabbitMQ type of queues created because they were missing.', { old: ['CELERY_CREATE_MISSING_QUEUE_TYPE'] }),
  task_create_missing_queue_exchange_type: choice(null, EXCHANGE_TYPES, 'Exchange type of queues created because they were missing; null = as the default exchange.', { old: ['CELERY_CREATE_MISSING_QUEUE_EXCHANGE_TYPE'] }),
  task_default_queue: string('celery', 'Queue of tasks with no route.', { old: ['CELERY_DEFAULT_QUEUE'] }),
  task_default_queue_type: choice('classic', QUEUE_TYPES, 'RabbitMQ type of task_default_queue.', { old: ['CELERY_DEFAULT_QUEUE_TYPE'] }),
  task_default_exchange: string(null, 'Exchange of queues that name none; null = task_default_queue.', { old: ['CELERY_DEFAULT_EXCHANGE'] }),
  task_default_exchange_type: choice('direct', EXCHANGE_TYPES, 'Type of exchanges that name none.', { old: ['CELERY_DEFAULT_EXCHANGE_TYPE'] }),
  task_default_routing_key: string(null, 'Routing key of queues that name none; null = task_default_queue.', { old: ['CELERY_DEFAULT_ROUTING_KEY'] }),
  task_default_delivery_mode: choice('persistent', ['persistent', 'transient', 1, 2], 'persistent (2: written to disk) or transient (1).', { old: ['CELERY_DEFAULT_DELIVERY_MODE'] }),
};

/** Whether celeriac honours each TASK_ROUTING setting (see SettingStatus). */
export const TASK_ROUTING_STATUS: StatusOf<typeof TASK_ROUTING> = {
  task_queues: APPLIED,
  task_routes: APPLIED,
  task_queue_max_priority: planned('queues are declared without x-max-priority unless task_queues says so'),
  task_default_priority: APPLIED,
  task_inherit_parent_priority: planned('tasks sent from a task do not inherit its priority yet'),
  task_create_missing_queues: APPLIED,
  task_create_missing_queue_type: APPLIED,
  task_create_missing_queue_exchange_type: planned('missing queues get a direct exchange'),
  task_default_queue: APPLIED,
  task_default_queue_type: APPLIED,
  task_default_exchange: APPLIED,
  task_default_exchange_type: APPLIED,
  task_default_routing_key: planned('queues route by their own name'),
  task_default_delivery_mode: APPLIED,
};
