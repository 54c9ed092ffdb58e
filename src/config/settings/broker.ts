// Celery's broker settings: names, types, defaults, docs and old names (BROKER_X).
// Data only. The URL is checked for shape here; whether a transport exists for its scheme is decided at connect.

import {
  any, bool, brokerUrl, choice, dict, float, int, seconds, ssl, string, APPLIED, accepted, planned, type StatusOf,
} from './spec.js';

/** How the broker is reached (Celery's "Broker Settings"). */
export const BROKER = {
  broker_url: brokerUrl('Broker URL, a `;`-separated failover list, or an array. celeriac: null = the embedded SQLite file sqlite://celeriac.db (Celery\'s default is amqp://).', { old: ['BROKER_URL'] }),
  broker_read_url: brokerUrl('Broker URL for consuming; null = broker_url.', { old: ['BROKER_READ_URL'] }),
  broker_write_url: brokerUrl('Broker URL for publishing; null = broker_url.', { old: ['BROKER_WRITE_URL'] }),
  broker_transport: string(null, 'Transport name when broker_url has none.', { old: ['BROKER_TRANSPORT'] }),
  broker_transport_options: dict({}, 'Extra options for the transport (e.g. { visibility_timeout: 3600 }).', { old: ['BROKER_TRANSPORT_OPTIONS'] }),
  broker_connection_timeout: seconds(4, 'Seconds to wait for a broker connection before giving up.', { old: ['BROKER_CONNECTION_TIMEOUT'] }),
  broker_connection_retry: bool(true, 'Reconnect when the broker connection is lost. celeriac: read as the default of broker_connection_retry_on_startup; false also stops the worker at a loss at run time.', { old: ['BROKER_CONNECTION_RETRY'] }),
  broker_connection_retry_on_startup: bool(null, 'Retry the first connection at startup; null = follow broker_connection_retry.', { old: ['BROKER_CONNECTION_RETRY_ON_STARTUP'] }),
  broker_connection_max_retries: int(100, 'Failed connection attempts before the worker gives up and stops: at start (2 s, 4 s … 30 s apart) and again after each connection loss at run time; 0 = no retry (Celery\'s behaviour, though its docs say forever), null = forever.', { old: ['BROKER_CONNECTION_MAX_RETRIES'], min: 0, nullable: true }),
  broker_channel_error_retry: bool(false, 'Also reconnect when the broker answers with an invalid response.', { old: ['BROKER_CHANNEL_ERROR_RETRY'] }),
  broker_failover_strategy: any('round-robin', 'Order of failover URLs: "round-robin", "shuffle", or a function yielding URLs.', {
    old: ['BROKER_FAILOVER_STRATEGY'],
    expects: '"round-robin", "shuffle", or a function',
    accept: (v) => v === 'round-robin' || v === 'shuffle' || typeof v === 'function',
  }),
  broker_heartbeat: seconds(120, 'AMQP heartbeat in seconds (worker side); 0 or null = off.', { old: ['BROKER_HEARTBEAT'], nullable: true }),
  broker_heartbeat_checkrate: float(2, 'Heartbeats are checked this many times per heartbeat interval.', { old: ['BROKER_HEARTBEAT_CHECKRATE'], min: 0 }),
  broker_login_method: string('AMQPLAIN', 'AMQP login method.', { old: ['BROKER_LOGIN_METHOD'] }),
  broker_native_delayed_delivery_queue_type: choice('quorum', ['quorum', 'classic'], 'RabbitMQ queue type of the native delayed-delivery queues.', { old: ['BROKER_NATIVE_DELAYED_DELIVERY_QUEUE_TYPE'] }),
  broker_pool_limit: int(10, 'Most broker connections kept open in the pool; 0 or null = no pool.', { old: ['BROKER_POOL_LIMIT'], min: 0, nullable: true }),
  broker_use_ssl: ssl(false, 'TLS for the broker connection: true, or an object of TLS options.', { old: ['BROKER_USE_SSL'] }),
  broker_host: string(null, 'Deprecated: put the host in broker_url.', { old: ['BROKER_HOST'] }),
  broker_port: int(null, 'Deprecated: put the port in broker_url.', { old: ['BROKER_PORT'], min: 1 }),
  broker_user: string(null, 'Deprecated: put the user in broker_url.', { old: ['BROKER_USER'] }),
  broker_password: string(null, 'Deprecated: put the password in broker_url.', { old: ['BROKER_PASSWORD'] }),
  broker_vhost: string(null, 'Deprecated: put the virtual host in broker_url.', { old: ['BROKER_VHOST'] }),
};

/** Whether celeriac honours each BROKER setting (see SettingStatus). */
export const BROKER_STATUS: StatusOf<typeof BROKER> = {
  broker_url: APPLIED,
  broker_read_url: planned('one broker URL serves consuming and publishing'),
  broker_write_url: planned('one broker URL serves consuming and publishing'),
  broker_transport: planned('the transport comes from the scheme of broker_url'),
  broker_transport_options: APPLIED,
  broker_connection_timeout: APPLIED,
  broker_connection_retry: APPLIED,
  broker_connection_retry_on_startup: APPLIED,
  broker_connection_max_retries: APPLIED,
  broker_channel_error_retry: planned('channel errors are not retried'),
  broker_failover_strategy: APPLIED,
  broker_heartbeat: APPLIED,
  broker_heartbeat_checkrate: planned('amqplib checks heartbeats itself'),
  broker_login_method: planned('amqplib logs in with PLAIN (or EXTERNAL with client certificates)'),
  broker_native_delayed_delivery_queue_type: APPLIED,
  broker_pool_limit: accepted('an app holds one broker connection; Node multiplexes on it'),
  broker_use_ssl: APPLIED,
  broker_host: accepted('deprecated in Celery: put the host in broker_url'),
  broker_port: accepted('deprecated in Celery: put the port in broker_url'),
  broker_user: accepted('deprecated in Celery: put the user in broker_url'),
  broker_password: accepted('deprecated in Celery: put the password in broker_url'),
  broker_vhost: accepted('deprecated in Celery: put the virtual host in broker_url'),
};
