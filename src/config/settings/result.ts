// Celery's result backend settings (result_*, database_*, redis_*, RPC exchange): names, types, defaults, old names.
// Data only. Old names follow Celery's rules (CELERY_RESULT_X, CELERY_REDIS_X) plus the explicit renames it documents.

import {
  backendUrl, bool, choice, compression, dict, float, int, seconds, serializer, ssl, string, APPLIED, accepted, planned, type StatusOf,
} from './spec.js';

/** Where and how results are stored (Celery's "Task result backend settings" and "RPC backend settings"). */
export const RESULT = {
  result_backend: backendUrl('Result backend URL (redis://, rpc://, db+sqlite:///…) or alias; null = results are not stored.', { old: ['CELERY_RESULT_BACKEND'] }),
  result_backend_transport_options: dict({}, 'Extra options for the result backend\'s connection.', { old: ['CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS'] }),
  result_serializer: serializer('json', 'Serializer for stored results.', { old: ['CELERY_RESULT_SERIALIZER'] }),
  // Celery's docs table maps CELERY_MESSAGE_COMPRESSION here, but Celery 5 itself reads it as task_compression;
  // behaviour wins, so it is listed there and this setting keeps only its namespace name.
  result_compression: compression('Compression for stored results; null = none.', { old: ['CELERY_RESULT_COMPRESSION'] }),
  result_expires: seconds(86400, 'Seconds until stored results are deleted; null or 0 = never.', { old: ['CELERY_TASK_RESULT_EXPIRES', 'CELERY_RESULT_EXPIRES'], nullable: true }),
  result_extended: bool(false, 'Also store name, args, kwargs, worker, retries, queue and delivery_info with results.', { old: ['CELERY_RESULT_EXTENDED'] }),
  result_persistent: bool(false, 'RPC backend: result messages survive a broker restart.', { old: ['CELERY_RESULT_PERSISTENT'] }),
  result_cache_max: int(-1, 'Results cached by the client; -1 = no cache, 0 or null = no limit.', { old: ['CELERY_MAX_CACHED_RESULTS'], min: -1, nullable: true }),
  result_chord_join_timeout: seconds(3, 'Seconds to wait when joining a group\'s results inside a chord.', { old: ['CELERY_RESULT_CHORD_JOIN_TIMEOUT'] }),
  result_chord_retry_interval: seconds(1, 'Seconds between retries of a chord\'s unlock task.', { old: ['CELERY_RESULT_CHORD_RETRY_INTERVAL'] }),
  result_backend_always_retry: bool(false, 'Retry recoverable backend errors (exponential backoff) instead of raising them.', { old: ['CELERY_RESULT_BACKEND_ALWAYS_RETRY'] }),
  result_backend_max_retries: float(Infinity, 'Retries of a recoverable backend error before raising it.', { old: ['CELERY_RESULT_BACKEND_MAX_RETRIES'], min: 0, infinite: true }),
  result_backend_base_sleep_between_retries_ms: int(10, 'Base sleep between backend retries, milliseconds.', { old: ['CELERY_RESULT_BACKEND_BASE_SLEEP_BETWEEN_RETRIES_MS'], min: 0 }),
  result_backend_max_sleep_between_retries_ms: int(10000, 'Longest sleep between backend retries, milliseconds.', { old: ['CELERY_RESULT_BACKEND_MAX_SLEEP_BETWEEN_RETRIES_MS'], min: 0 }),
  result_backend_thread_safe: bool(false, 'Share one backend object (and its connection pool) between threads.', { old: ['CELERY_RESULT_BACKEND_THREAD_SAFE'] }),
  result_exchange: string('celeryresults', 'RPC/AMQP backend: exchange results are published to.', { old: ['CELERY_RESULT_EXCHANGE'] }),
  result_exchange_type: choice('direct', ['direct', 'topic', 'fanout', 'headers'], 'RPC/AMQP backend: type of result_exchange.', { old: ['CELERY_RESULT_EXCHANGE_TYPE'] }),
  override_backends: dict(null, 'Backend alias → class path overrides (Celery); celeriac uses registerBackend() instead.'),
};

/** Whether celeriac honours each RESULT setting (see SettingStatus). */
export const RESULT_STATUS: StatusOf<typeof RESULT> = {
  result_backend: APPLIED,
  result_backend_transport_options: APPLIED,
  result_serializer: APPLIED,
  result_compression: planned('results are stored uncompressed'),
  result_expires: APPLIED,
  result_extended: APPLIED,
  result_persistent: APPLIED,
  result_cache_max: accepted('celeriac keeps no client-side result cache'),
  result_chord_join_timeout: APPLIED,
  result_chord_retry_interval: APPLIED,
  result_backend_always_retry: planned('backend errors are retried by a fixed policy'),
  result_backend_max_retries: planned('backend errors are retried by a fixed policy'),
  result_backend_base_sleep_between_retries_ms: planned('backend errors are retried by a fixed policy'),
  result_backend_max_sleep_between_retries_ms: planned('backend errors are retried by a fixed policy'),
  result_backend_thread_safe: accepted('a Node process shares one backend connection already'),
  result_exchange: accepted("Celery's rpc:// backend ignores it too: results go to the default exchange, routed by reply_to"),
  result_exchange_type: accepted("Celery's rpc:// backend ignores it too: results go to the default exchange, routed by reply_to"),
  override_backends: accepted('it maps names to Python classes; register a backend with registerBackend()'),
};

/** The cache result backend (Celery's "Cache backend settings"): read when result_backend is 'cache'. */
export const CACHE = {
  cache_backend: string(null, "The cache behind result_backend = 'cache': 'memcached://host:port/' (several servers: a;b).", { old: ['CELERY_CACHE_BACKEND'] }),
  cache_backend_options: dict({}, 'Options for the memcached client: timeout (seconds per request), retries, username, password.', { old: ['CELERY_CACHE_BACKEND_OPTIONS'] }),
};

/** Whether celeriac honours each CACHE setting (see SettingStatus). */
export const CACHE_STATUS: StatusOf<typeof CACHE> = {
  cache_backend: APPLIED,
  cache_backend_options: APPLIED,
};

/** The SQL result backend (Celery's "Database backend settings"). */
export const DATABASE = {
  database_create_tables_at_setup: bool(true, 'Create the result tables when the backend starts rather than on first use.'),
  database_engine_options: dict({}, 'Extra options for the SQL driver connection.', { old: ['CELERY_RESULT_ENGINE_OPTIONS'] }),
  database_short_lived_sessions: bool(false, 'Open a new database session per operation (helps with idle-timeout servers).', { old: ['CELERY_RESULT_DB_SHORT_LIVED_SESSIONS'] }),
  database_table_schemas: dict({}, 'Schema per result table: { task: "celery", group: "celery" }.'),
  database_table_names: dict({}, 'Result table names: { task: "celery_taskmeta", group: "celery_groupmeta" } by default.', { old: ['CELERY_RESULT_DB_TABLENAMES', 'CELERY_RESULT_DB_TABLE_NAMES'] }),
};

/** Whether celeriac honours each DATABASE setting (see SettingStatus). */
export const DATABASE_STATUS: StatusOf<typeof DATABASE> = {
  database_create_tables_at_setup: accepted('celeriac creates missing tables on first use, always'),
  database_engine_options: accepted('it configures SQLAlchemy\'s engine; celeriac uses node-postgres and better-sqlite3'),
  database_short_lived_sessions: accepted('it configures SQLAlchemy sessions; celeriac holds a pool (PostgreSQL) or one file (SQLite)'),
  database_table_schemas: planned('celeriac uses Celery\'s default table schemas'),
  database_table_names: planned('celeriac uses Celery\'s default table names'),
};

/** The Redis result backend (Celery's "Redis backend settings"). */
export const REDIS = {
  redis_backend_health_check_interval: seconds(null, 'Seconds between Redis health checks; null = none.', { old: ['CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL'] }),
  redis_backend_use_ssl: ssl(null, 'TLS for the Redis result backend: an object of TLS options.', { old: ['CELERY_REDIS_BACKEND_USE_SSL'] }),
  redis_max_connections: int(null, 'Most connections in the Redis backend pool; null = no limit.', { old: ['CELERY_REDIS_MAX_CONNECTIONS'], min: 1 }),
  redis_socket_timeout: seconds(120, 'Seconds a Redis read or write may take.', { old: ['CELERY_REDIS_SOCKET_TIMEOUT'], nullable: true }),
  redis_socket_connect_timeout: seconds(null, 'Seconds a first Redis result-backend connection may take, all attempts together; null = broker_connection_timeout.', { old: ['CELERY_REDIS_SOCKET_CONNECT_TIMEOUT'] }),
  redis_retry_on_timeout: bool(false, 'Retry Redis reads and writes once on timeout.', { old: ['CELERY_REDIS_RETRY_ON_TIMEOUT'] }),
  redis_socket_keepalive: bool(false, 'TCP keepalive on Redis backend connections.', { old: ['CELERY_REDIS_SOCKET_KEEPALIVE'] }),
  redis_username: string(null, 'Redis user when not in result_backend\'s URL.', { old: ['CELERY_REDIS_USERNAME'] }),
  redis_password: string(null, 'Redis password when not in result_backend\'s URL.', { old: ['CELERY_REDIS_PASSWORD'] }),
  redis_host: string(null, 'Deprecated: put the host in result_backend.', { old: ['CELERY_REDIS_HOST'] }),
  redis_port: int(null, 'Deprecated: put the port in result_backend.', { old: ['CELERY_REDIS_PORT'], min: 1 }),
  redis_db: int(null, 'Deprecated: put the database number in result_backend.', { old: ['CELERY_REDIS_DB'], min: 0 }),
};

/** Whether celeriac honours each REDIS setting (see SettingStatus). */
export const REDIS_STATUS: StatusOf<typeof REDIS> = {
  redis_backend_health_check_interval: accepted('it configures redis-py\'s health checks; ioredis detects a dead connection itself'),
  redis_backend_use_ssl: planned('give TLS options in result_backend_transport_options.ssl or use rediss://'),
  redis_max_connections: accepted('the Redis backend uses one pipelined connection'),
  redis_socket_timeout: planned('Redis commands wait as ioredis decides'),
  redis_socket_connect_timeout: APPLIED,
  redis_retry_on_timeout: planned('Redis commands are retried by ioredis\'s own policy'),
  redis_socket_keepalive: planned('use result_backend_transport_options.socket_keepalive'),
  redis_username: planned('put the user in the result_backend URL'),
  redis_password: planned('put the password in the result_backend URL'),
  redis_host: accepted('deprecated in Celery: put the host in result_backend'),
  redis_port: accepted('deprecated in Celery: put the port in result_backend'),
  redis_db: accepted('deprecated in Celery: put the database number in result_backend'),
};
