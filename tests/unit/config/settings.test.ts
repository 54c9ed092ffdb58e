// The settings table: shape, defaults, old names, name suggestions and the task option name mapping.

import { describe, expect, it } from 'vitest';
import {
  canonicalName, isSettingName, OLD_NAMES, SETTING_NAMES, SETTINGS, suggestName,
  TASK_OPTION_NAMES, taskOptionToCamel, taskOptionsToCamel, toSnake,
} from '../../../src/config/settings.js';
import { FOREIGN_SETTINGS } from '../../../src/config/settings/foreign.js';
import { editDistance, nearest } from '../../../src/config/settings/spec.js';

describe('the settings table', () => {
  it('covers every namespace the brief lists', () => {
    const required = [
      'accept_content', 'result_accept_content', 'enable_utc', 'timezone', 'imports', 'include',
      'broker_url', 'broker_read_url', 'broker_write_url', 'broker_transport', 'broker_transport_options', 'broker_connection_retry',
      'broker_connection_retry_on_startup', 'broker_connection_max_retries', 'broker_connection_timeout', 'broker_heartbeat',
      'broker_pool_limit', 'broker_use_ssl', 'broker_login_method', 'broker_failover_strategy',
      'result_backend', 'result_backend_transport_options', 'result_serializer', 'result_expires', 'result_extended', 'result_persistent',
      'result_compression', 'result_cache_max', 'result_chord_join_timeout', 'result_chord_retry_interval', 'result_backend_always_retry',
      'result_backend_max_retries', 'task_serializer', 'task_compression', 'task_protocol', 'task_routes', 'task_annotations', 'task_queues',
      'task_default_queue', 'task_default_exchange', 'task_default_exchange_type', 'task_default_routing_key', 'task_default_delivery_mode',
      'task_default_priority', 'task_queue_max_priority', 'task_create_missing_queues', 'task_acks_late', 'task_acks_on_failure_or_timeout',
      'task_reject_on_worker_lost', 'task_track_started', 'task_ignore_result', 'task_store_errors_even_if_ignored', 'task_always_eager',
      'task_eager_propagates', 'task_store_eager_result', 'task_time_limit', 'task_soft_time_limit', 'task_default_rate_limit',
      'task_publish_retry', 'task_publish_retry_policy', 'task_send_sent_event', 'task_inherit_parent_priority', 'task_remote_tracebacks',
      'worker_concurrency', 'worker_prefetch_multiplier', 'worker_pool', 'worker_max_tasks_per_child', 'worker_max_memory_per_child',
      'worker_disable_rate_limits', 'worker_state_db', 'worker_timer_precision', 'worker_send_task_events', 'worker_lost_wait',
      'worker_hijack_root_logger', 'worker_log_format', 'worker_task_log_format', 'worker_log_color', 'worker_redirect_stdouts',
      'worker_redirect_stdouts_level', 'worker_direct', 'worker_autoscaler', 'worker_consumer', 'worker_timer',
      'worker_enable_remote_control', 'worker_cancel_long_running_tasks_on_connection_loss', 'worker_proc_alive_timeout',
      'event_queue_ttl', 'event_queue_expires', 'event_queue_prefix', 'event_serializer', 'event_exchange',
      'control_queue_ttl', 'control_queue_expires', 'control_exchange',
      'beat_schedule', 'beat_scheduler', 'beat_schedule_filename', 'beat_sync_every', 'beat_max_loop_interval',
      'database_engine_options', 'database_short_lived_sessions', 'database_table_schemas', 'database_table_names',
      'redis_backend_health_check_interval', 'redis_max_connections', 'redis_socket_timeout', 'redis_socket_connect_timeout',
      'redis_retry_on_timeout', 'redis_socket_keepalive', 'redis_username', 'redis_password',
      'security_key', 'security_certificate', 'security_cert_store', 'security_digest', 'result_exchange', 'result_exchange_type',
    ];
    expect(required.filter((name) => !isSettingName(name))).toEqual([]);
  });

  it('gives every row its name, a one-line doc and a default its own check accepts', () => {
    for (const name of SETTING_NAMES) {
      const row = SETTINGS[name];
      expect(row.name).toBe(name);
      expect(name).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
      expect(row.doc.length, name).toBeGreaterThan(10);
      expect(row.doc, name).not.toContain('\n');
      const checked = row.check(row.default);
      expect(checked.ok, `${name} rejects its own default`).toBe(true);
    }
  });

  it('freezes defaults so no app can change another\'s', () => {
    expect(Object.isFrozen(SETTINGS.accept_content.default)).toBe(true);
    expect(Object.isFrozen(SETTINGS.task_publish_retry_policy.default)).toBe(true);
    expect(() => (SETTINGS.accept_content.default as string[]).push('yaml')).toThrow(TypeError);
  });

  it('has Celery 5 defaults', () => {
    expect(SETTINGS.accept_content.default).toEqual(['json']);
    expect(SETTINGS.task_serializer.default).toBe('json');
    expect(SETTINGS.result_expires.default).toBe(86400);
    expect(SETTINGS.task_default_queue.default).toBe('celery');
    expect(SETTINGS.worker_prefetch_multiplier.default).toBe(4);
    expect(SETTINGS.broker_connection_max_retries.default).toBe(100);
    expect(SETTINGS.task_acks_on_failure_or_timeout.default).toBe(true);
    expect(SETTINGS.control_queue_ttl.default).toBe(300);
    expect(SETTINGS.event_queue_prefix.default).toBe('celeryev');
    expect(SETTINGS.task_publish_retry_policy.default).toEqual({ max_retries: 3, interval_start: 0, interval_step: 0.2, interval_max: 0.2 });
  });

  it('maps the old upper-case names Celery documents', () => {
    expect(OLD_NAMES).toMatchObject({
      CELERY_TIMEZONE: 'timezone',
      CELERY_ENABLE_UTC: 'enable_utc',
      BROKER_URL: 'broker_url',
      CELERY_RESULT_BACKEND: 'result_backend',
      CELERY_TASK_SERIALIZER: 'task_serializer',
      CELERYD_CONCURRENCY: 'worker_concurrency',
      CELERYD_PREFETCH_MULTIPLIER: 'worker_prefetch_multiplier',
      CELERY_ROUTES: 'task_routes',
      CELERY_ANNOTATIONS: 'task_annotations',
      CELERY_ACCEPT_CONTENT: 'accept_content',
      CELERY_ALWAYS_EAGER: 'task_always_eager',
      CELERY_ACKS_LATE: 'task_acks_late',
      CELERYBEAT_SCHEDULE: 'beat_schedule',
      CELERY_SEND_EVENTS: 'worker_send_task_events',
      CELERY_MAX_CACHED_RESULTS: 'result_cache_max',
      CELERY_TASK_RESULT_EXPIRES: 'result_expires',
      CELERYD_TASK_TIME_LIMIT: 'task_time_limit',
      CASSANDRA_COLUMN_FAMILY: 'cassandra_table',
    });
  });

  it('never gives one old name to two settings', () => {
    const declared = [...SETTING_NAMES.flatMap((name) => SETTINGS[name].old as readonly string[]), ...Object.values(FOREIGN_SETTINGS).flat()];
    expect(new Set(declared).size).toBe(declared.length);
    expect(Object.keys(OLD_NAMES)).toHaveLength(declared.length);
    expect(SETTING_NAMES.filter((name) => Object.hasOwn(FOREIGN_SETTINGS, name))).toEqual([]);
    for (const old of declared) expect(isSettingName(old)).toBe(false);
  });

  it('resolves names, old names and foreign Celery settings, and nothing else', () => {
    expect(canonicalName('task_serializer')).toBe('task_serializer');
    expect(canonicalName('CELERYD_CONCURRENCY')).toBe('worker_concurrency');
    expect(canonicalName('cassandra_servers')).toBe('cassandra_servers');
    expect(canonicalName('my_custom_key')).toBeUndefined();
  });
});

describe('name suggestions', () => {
  it('catches typos, case slips and camelCase spellings', () => {
    expect(suggestName('task_serialiser')).toBe('task_serializer');
    expect(suggestName('TASK_SERIALIZER')).toBe('task_serializer');
    expect(suggestName('taskSerializer')).toBe('task_serializer');
    expect(suggestName('imports_')).toBe('imports');
    expect(suggestName('CELERY_TIMEZON')).toBe('CELERY_TIMEZONE');
  });

  it('leaves deliberate custom keys and known names alone', () => {
    for (const key of ['my_api_key', 'flower_basic_auth', 'broker_api', 'SENTRY_DSN', 'x', 'result_backend']) {
      expect(suggestName(key), key).toBeUndefined();
    }
  });

  it('counts a swapped pair as one edit', () => {
    expect(editDistance('jsno', 'json')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearest('jsno', ['json', 'yaml'])).toBe('json');
    expect(nearest('json', ['json', 'yaml'])).toBeUndefined();
    expect(nearest('xml', ['json', 'yaml'])).toBeUndefined();
  });
});

describe('task option names', () => {
  it('maps Celery snake_case options to TaskOptions fields and back', () => {
    expect(TASK_OPTION_NAMES.acks_late).toBe('acksLate');
    expect(TASK_OPTION_NAMES.store_errors_even_if_ignored).toBe('storeErrorsEvenIfIgnored');
    for (const [snake, camel] of Object.entries(TASK_OPTION_NAMES)) {
      expect(taskOptionToCamel(snake)).toBe(camel);
      expect(toSnake(camel)).toBe(snake);
    }
  });

  it('converts names outside the table by rule, so annotations may set any attribute', () => {
    expect(taskOptionToCamel('on_failure')).toBe('onFailure');
    expect(toSnake('onFailure')).toBe('on_failure');
    expect(taskOptionToCamel('queue')).toBe('queue');
  });

  it('renames the keys of an annotation entry and keeps the values', () => {
    const handler = (): void => undefined;
    expect(taskOptionsToCamel({ rate_limit: '10/m', max_retries: 5, on_failure: handler })).toEqual({ rateLimit: '10/m', maxRetries: 5, onFailure: handler });
  });
});
