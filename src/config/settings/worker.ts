// Celery's worker, events, remote-control and logging settings: names, types, defaults, docs and old names.
// Data only. Old names follow Celery's rules (CELERYD_X for worker_*, CELERY_EVENT_X) plus documented renames.

import {
  bool, choice, int, nameOrNumber, seconds, serializer, string, APPLIED, NO_DAEMON, PYTHON_CLASS, accepted, planned, type StatusOf,
} from './spec.js';

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;

/** The worker (Celery's "Worker", "Logging" and "Custom Component Classes" settings). */
export const WORKER = {
  worker_concurrency: int(null, 'Tasks run at once; null = the number of CPU cores.', { old: ['CELERYD_CONCURRENCY'], min: 1 }),
  worker_prefetch_multiplier: int(4, 'Messages reserved per concurrency slot; 0 = no limit.', { old: ['CELERYD_PREFETCH_MULTIPLIER'], min: 0 }),
  worker_disable_prefetch: bool(false, 'Reserve a message only when a slot is free.', { old: ['CELERYD_DISABLE_PREFETCH'] }),
  worker_enable_prefetch_count_reduction: bool(true, 'After a reconnect, lower prefetch and restore it as old tasks finish.', { old: ['CELERYD_ENABLE_PREFETCH_COUNT_REDUCTION'] }),
  worker_eta_task_limit: int(null, 'Most ETA/countdown tasks held in memory; null = no limit.', { old: ['CELERYD_ETA_TASK_LIMIT'], min: 1 }),
  // celeriac: Node's natural pool is the in-process async one; Celery's default is prefork (processes).
  worker_pool: choice('async', ['async', 'solo', 'threads', 'prefork', 'processes'], 'Pool that runs tasks. celeriac default async (Celery: prefork).', { old: ['CELERYD_POOL'] }),
  worker_pool_putlocks: bool(true, 'Block the consumer while the pool is full.', { old: ['CELERYD_POOL_PUTLOCKS'] }),
  worker_pool_restarts: bool(false, 'Allow the pool_restart remote-control command.', { old: ['CELERYD_POOL_RESTARTS'] }),
  worker_max_tasks_per_child: int(null, 'Tasks a pool child runs before it is replaced; null = no limit.', { old: ['CELERYD_MAX_TASKS_PER_CHILD'], min: 1 }),
  worker_max_memory_per_child: int(null, 'Resident KiB a pool child may use before it is replaced; null = no limit.', { old: ['CELERYD_MAX_MEMORY_PER_CHILD'], min: 1 }),
  worker_max_decompressed_size: int(64 * 1024 * 1024, 'celeriac: most bytes a compressed task message may expand to; larger ones are rejected (FAILURE stored) before they fill memory.', { min: 1 }),
  worker_proc_alive_timeout: seconds(4, 'Seconds to wait for a new pool child to start.', { old: ['CELERYD_PROC_ALIVE_TIMEOUT'] }),
  worker_disable_rate_limits: bool(false, 'Ignore all rate limits.', { old: ['CELERY_DISABLE_RATE_LIMITS'] }),
  worker_state_db: string(null, 'File that keeps worker state (revoked ids) across restarts; null = none.', { old: ['CELERYD_STATE_DB'] }),
  worker_timer_precision: seconds(1, 'Longest sleep of the ETA scheduler between checks.', { old: ['CELERYD_TIMER_PRECISION'] }),
  worker_lost_wait: seconds(10, 'Seconds to wait for a lost pool child\'s result before WorkerLostError.', { old: ['CELERYD_WORKER_LOST_WAIT'] }),
  worker_direct: bool(false, 'Give each worker its own queue <nodename>.dq on exchange C.dq2.', { old: ['CELERY_WORKER_DIRECT'] }),
  worker_enable_remote_control: bool(true, 'Answer remote-control commands.', { old: ['CELERY_ENABLE_REMOTE_CONTROL'] }),
  worker_cancel_long_running_tasks_on_connection_loss: bool(false, 'Cancel running acks_late tasks when the broker connection is lost.', { old: ['CELERYD_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS'] }),
  worker_deduplicate_successful_tasks: bool(false, 'Skip redelivered acks_late tasks whose result is already SUCCESS.', { old: ['CELERYD_DEDUPLICATE_SUCCESSFUL_TASKS'] }),
  worker_detect_quorum_queues: bool(true, 'Turn off global QoS when a consumed queue is a quorum queue.', { old: ['CELERYD_DETECT_QUORUM_QUEUES'] }),
  worker_soft_shutdown_timeout: seconds(0, 'Seconds a soft shutdown waits for tasks before the cold shutdown.', { old: ['CELERYD_SOFT_SHUTDOWN_TIMEOUT'] }),
  worker_enable_soft_shutdown_on_idle: bool(false, 'Do the soft shutdown wait even with no task running.', { old: ['CELERYD_ENABLE_SOFT_SHUTDOWN_ON_IDLE'] }),
  worker_agent: string(null, 'Agent class started with the worker (Celery); null = none.', { old: ['CELERYD_AGENT'] }),
  worker_autoscaler: string('celery.worker.autoscale:Autoscaler', 'Autoscaler class (Celery\'s name).', { old: ['CELERYD_AUTOSCALER'] }),
  worker_consumer: string('celery.worker.consumer:Consumer', 'Consumer class (Celery\'s name).', { old: ['CELERYD_CONSUMER'] }),
  worker_timer: string(null, 'ETA timer class; null = the pool\'s own.', { old: ['CELERYD_TIMER'] }),
  worker_hijack_root_logger: bool(true, 'The worker replaces root logging handlers with its own.', { old: ['CELERYD_HIJACK_ROOT_LOGGER'] }),
  worker_log_color: bool(null, 'Colour log output; null = when writing to a terminal.', { old: ['CELERYD_LOG_COLOR'] }),
  worker_log_format: string('[%(asctime)s: %(levelname)s/%(processName)s] %(message)s', 'Format of worker log lines.', { old: ['CELERYD_LOG_FORMAT', 'CELERY_WORKER_LOG_FORMAT'] }),
  worker_task_log_format: string('[%(asctime)s: %(levelname)s/%(processName)s] %(task_name)s[%(task_id)s]: %(message)s', 'Format of log lines written by tasks.', { old: ['CELERYD_TASK_LOG_FORMAT', 'CELERY_WORKER_TASK_LOG_FORMAT'] }),
  worker_redirect_stdouts: bool(true, 'Send stdout/stderr to the log.', { old: ['CELERY_REDIRECT_STDOUTS'] }),
  worker_redirect_stdouts_level: choice('WARNING', LOG_LEVELS, 'Level of redirected stdout/stderr lines.', { old: ['CELERY_REDIRECT_STDOUTS_LEVEL'] }),
  worker_logfile: string(null, 'File the worker logs to; null = stdout.'),
  worker_pidfile: string(null, 'PID file of the worker; null = none.'),
  worker_uid: nameOrNumber('User the worker switches to when daemonizing; null = no change.'),
  worker_gid: nameOrNumber('Group the worker switches to when daemonizing; null = no change.'),
  worker_umask: nameOrNumber('umask for files the worker creates when daemonizing.'),
  worker_executable: string(null, 'Interpreter used when the worker daemonizes; null = this one.'),
};

/** Whether celeriac honours each WORKER setting (see SettingStatus). */
export const WORKER_STATUS: StatusOf<typeof WORKER> = {
  worker_concurrency: APPLIED,
  worker_prefetch_multiplier: APPLIED,
  worker_disable_prefetch: planned('prefetch is concurrency × worker_prefetch_multiplier'),
  worker_enable_prefetch_count_reduction: planned('prefetch is restored at once after a reconnect'),
  worker_eta_task_limit: planned('ETA tasks held in memory are bounded by prefetch only'),
  worker_pool: APPLIED,
  worker_pool_putlocks: accepted('it tunes Python\'s pool; celeriac\'s consumer takes only what its prefetch window allows'),
  worker_pool_restarts: APPLIED,
  worker_max_tasks_per_child: APPLIED,
  worker_max_memory_per_child: APPLIED,
  worker_max_decompressed_size: APPLIED,
  worker_proc_alive_timeout: APPLIED,
  worker_disable_rate_limits: APPLIED,
  worker_state_db: APPLIED,
  worker_timer_precision: accepted('Node\'s timers fire when due; there is no polling interval to tune'),
  worker_lost_wait: planned('a lost child is reported at once'),
  worker_direct: planned('workers consume no <nodename>.dq queue yet'),
  worker_enable_remote_control: APPLIED,
  worker_cancel_long_running_tasks_on_connection_loss: planned('running tasks continue after a connection loss'),
  worker_deduplicate_successful_tasks: planned('redelivered tasks run again'),
  worker_detect_quorum_queues: APPLIED,
  worker_soft_shutdown_timeout: planned('warm shutdown waits for running tasks; there is no soft phase yet'),
  worker_enable_soft_shutdown_on_idle: planned('warm shutdown waits for running tasks; there is no soft phase yet'),
  worker_agent: accepted(PYTHON_CLASS),
  worker_autoscaler: accepted(PYTHON_CLASS),
  worker_consumer: accepted(PYTHON_CLASS),
  worker_timer: accepted(PYTHON_CLASS),
  worker_hijack_root_logger: accepted('Node has no root logging handlers to replace'),
  worker_log_color: planned('colour follows whether stderr is a terminal'),
  worker_log_format: accepted('it is a Python logging format; celeriac prints Celery\'s default line format, or JSON'),
  worker_task_log_format: accepted('it is a Python logging format; celeriac prints Celery\'s default task line format, or JSON'),
  worker_redirect_stdouts: APPLIED,
  worker_redirect_stdouts_level: APPLIED,
  worker_logfile: planned('use the worker\'s --logfile option'),
  worker_pidfile: planned('use the worker\'s --pidfile option'),
  worker_uid: accepted(NO_DAEMON),
  worker_gid: accepted(NO_DAEMON),
  worker_umask: accepted(NO_DAEMON),
  worker_executable: accepted(NO_DAEMON),
};

/** Monitoring events (Celery's "Events" settings). */
export const EVENTS = {
  worker_send_task_events: bool(false, 'Send task-* events (what Flower shows); the -E flag.', { old: ['CELERY_SEND_EVENTS'] }),
  event_queue_ttl: seconds(5, 'Message TTL of event queues (x-message-ttl).', { old: ['CELERY_EVENT_QUEUE_TTL'], nullable: true }),
  event_queue_expires: seconds(60, 'Idle event queues are deleted after this (x-expires).', { old: ['CELERY_EVENT_QUEUE_EXPIRES'], nullable: true }),
  event_queue_durable: bool(false, 'Event receiver queues survive a broker restart (not with exclusive).', { old: ['CELERY_EVENT_QUEUE_DURABLE'] }),
  event_queue_exclusive: bool(false, 'Event receiver queues belong to one connection (not with durable).', { old: ['CELERY_EVENT_QUEUE_EXCLUSIVE'] }),
  event_queue_prefix: string('celeryev', 'Prefix of event receiver queue names.', { old: ['CELERY_EVENT_QUEUE_PREFIX'] }),
  event_serializer: serializer('json', 'Serializer for event messages.', { old: ['CELERY_EVENT_SERIALIZER'] }),
  event_exchange: string('celeryev', 'Exchange events are published to.', { old: ['CELERY_EVENT_EXCHANGE'] }),
  events_logfile: string(null, 'File `celeriac events` logs to; null = stdout.'),
  events_pidfile: string(null, 'PID file of `celeriac events`; null = none.'),
  events_uid: nameOrNumber('User `celeriac events` switches to when daemonizing.'),
  events_gid: nameOrNumber('Group `celeriac events` switches to when daemonizing.'),
  events_umask: nameOrNumber('umask for files `celeriac events` creates when daemonizing.'),
  events_executable: string(null, 'Interpreter used when `celeriac events` daemonizes.'),
};

/** Whether celeriac honours each EVENTS setting (see SettingStatus). */
export const EVENTS_STATUS: StatusOf<typeof EVENTS> = {
  worker_send_task_events: APPLIED,
  event_queue_ttl: APPLIED,
  event_queue_expires: APPLIED,
  event_queue_durable: planned('event queues are declared with fixed arguments'),
  event_queue_exclusive: planned('event queues are declared with fixed arguments'),
  event_queue_prefix: APPLIED,
  event_serializer: planned('events are sent as JSON'),
  event_exchange: APPLIED,
  events_logfile: planned('`celeriac events` logs to stdout'),
  events_pidfile: planned('`celeriac events` writes no PID file'),
  events_uid: accepted(NO_DAEMON),
  events_gid: accepted(NO_DAEMON),
  events_umask: accepted(NO_DAEMON),
  events_executable: accepted(NO_DAEMON),
};

/** The remote-control channel (Celery's "Remote Control Commands" settings). */
export const CONTROL = {
  control_queue_ttl: seconds(300, 'Seconds before an unanswered command or reply message expires.', { old: ['CONTROL_QUEUE_TTL'], nullable: true }),
  control_queue_expires: seconds(10, 'Seconds before an unused command or reply queue is deleted.', { old: ['CONTROL_QUEUE_EXPIRES'], nullable: true }),
  control_exchange: string('celery', 'Name prefix of the control exchanges (<name>.pidbox, <name>.reply.pidbox).', { old: ['CONTROL_EXCHANGE'] }),
  control_queue_durable: bool(false, 'Control exchange and queues survive a broker restart (not with exclusive).', { old: ['CONTROL_QUEUE_DURABLE'] }),
  control_queue_exclusive: bool(false, 'Control queues belong to one connection (not with durable).', { old: ['CONTROL_QUEUE_EXCLUSIVE'] }),
  control_require_signed: bool(false, 'celeriac: the worker runs only remote-control commands signed by a certificate in security_cert_store (setupSecurity); unsigned ones are dropped with a log line.'),
};

/** Whether celeriac honours each CONTROL setting (see SettingStatus). */
export const CONTROL_STATUS: StatusOf<typeof CONTROL> = {
  control_queue_ttl: APPLIED,
  control_queue_expires: APPLIED,
  control_exchange: APPLIED,
  control_queue_durable: planned('control queues are declared with fixed arguments'),
  control_queue_exclusive: planned('control queues are declared with fixed arguments'),
  control_require_signed: APPLIED,
};
