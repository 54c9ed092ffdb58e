// redis:// broker: kombu's Redis transport layout over the virtual transport, so Python Celery 5 workers and
// clients share queues, bindings, unacked bookkeeping and fanout channels with celeriac (REDIS-WIRE.md).
//
// Features
// - direct, topic: yes (virtual exchanges over `_kombu.binding.<exchange>` sets)
// - fanout: yes, Redis pub/sub on `/<db>.<exchange>[/<routing key>]` (remote control, events)
// - priority: yes, emulated with priority_steps lists [0, 3, 6, 9]; on Redis a LOWER number is taken first
//   (kombu's order, the opposite of RabbitMQ)
// - redelivery: visibility_timeout sweep (default 3600 s) of `unacked`, any owner, as kombu
// - delay: deferredDelivery (our `celeriac.deferred` set), so long ETAs are not redelivered by the sweep
// URL forms: redis://[user:password@]host[:port][/db], rediss://…?ssl_cert_reqs=CERT_REQUIRED&ssl_ca_certs=…,
// redis+socket:///path/redis.sock?virtual_host=0, sentinel://host:26379;sentinel://host2:26379 with
// broker_transport_options master_name; redis://a;redis://b fails over (broker_failover_strategy);
// redis+cluster://[:password@]host:port[,host:port…] (rediss+cluster:// for TLS) is a Redis Cluster (cluster-store.ts). Transport options: visibility_timeout, queue_order_strategy
// (priority | round_robin | sorted), global_keyprefix, sep, priority_steps, polling_interval (re-check interval
// when waiting on several lists), unacked_key/unacked_index_key/unacked_mutex_key/unacked_mutex_expire,
// fanout_prefix, max_retries_per_request, socket_connect_timeout, sentinel_kwargs, wait_replicas/wait_timeout (a publish
// is confirmed once that many replicas have it: drivers/redis-wait.ts).

import type { TransportEvent, TransportFactory } from '../transport.js';
import { OperationalError } from '../../errors.js';
import { createVirtualTransport } from '../virtual/transport.js';
import { isRedisConnectionError, redisConnectionConfig } from '../../drivers/redis.js';
import { RedisQueueStore } from './store.js';
import { RedisClusterQueueStore } from './cluster-store.js';
import { FailoverQueueStore } from '../virtual/failover.js';
import { redactUrl, schemeOf, splitFailover } from '../../config/urls.js';
import { failoverOrder } from '../../config/failover-strategy.js';

/**
 * Open (lazily: no socket until first use) a Redis broker transport for `options.url`. A failover list of redis://
 * URLs (`redis://a;redis://b`, Celery's syntax) serves from one server at a time and moves to the next on a
 * connection error (virtual/failover.ts); sentinel:// lists name the Sentinels of one master instead.
 */
export const createTransport: TransportFactory = (options) => {
  const transportOptions = options.transportOptions ?? {};
  const isRecoverable = (error: unknown) => isRedisConnectionError(error) || isRedisConnectionError((error as { cause?: unknown } | null)?.cause);
  const urls = splitFailover(options.url);
  const failover = urls.length > 1 && schemeOf(options.url) !== 'sentinel';
  const cluster = /^rediss?\+cluster$/.test(schemeOf(options.url) ?? '');
  // With somewhere else to go, a command fails after one reconnect attempt instead of waiting out ~20 of them.
  const storeOptions = failover ? { max_retries_per_request: 1, ...transportOptions } : transportOptions;
  const stores = (failover ? urls : [options.url]).map((url) => {
    const config = redisConnectionConfig({ url, transportOptions: storeOptions, ssl: options.ssl, connectTimeoutMs: options.connectTimeoutMs, setting: 'broker_url' });
    return cluster ? new RedisClusterQueueStore(config, storeOptions) : new RedisQueueStore(config, storeOptions);
  });
  let emit: ((event: TransportEvent, arg?: unknown) => void) | undefined;
  const onSwitch = (from: number, to: number, error: unknown) => emit?.('disconnected', new OperationalError(
    `The broker at ${redactUrl(urls[from]!)} is unreachable (${(error as Error)?.message ?? String(error)}); failing over to ${redactUrl(urls[to]!)}`, { cause: error }));
  const store = failover ? new FailoverQueueStore({ stores, next: failoverOrder(options.failoverStrategy, urls), isRecoverable, onSwitch }) : stores[0]!;
  return createVirtualTransport(store, {
    displayUrl: redactUrl(options.url),
    transportOptions,
    capabilities: { fanout: true, topic: true, priority: true, redelivery: true, deferredDelivery: true },
    isRecoverable,
    events: (e) => (emit = e),
  });
};

export { RedisQueueStore } from './store.js';
