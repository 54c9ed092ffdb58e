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
// broker_transport_options master_name. Transport options: visibility_timeout, queue_order_strategy
// (priority | round_robin | sorted), global_keyprefix, sep, priority_steps, polling_interval (re-check interval
// when waiting on several lists), unacked_key/unacked_index_key/unacked_mutex_key/unacked_mutex_expire,
// fanout_prefix, max_retries_per_request, socket_connect_timeout, sentinel_kwargs.

import type { TransportFactory } from '../transport.js';
import { createVirtualTransport } from '../virtual/transport.js';
import { isRedisConnectionError, redisConnectionConfig } from '../../drivers/redis.js';
import { RedisQueueStore } from './store.js';

/** Open (lazily: no socket until first use) a Redis broker transport for `options.url`. */
export const createTransport: TransportFactory = (options) => {
  const transportOptions = options.transportOptions ?? {};
  const config = redisConnectionConfig({
    url: options.url,
    transportOptions,
    ssl: options.ssl,
    connectTimeoutMs: options.connectTimeoutMs,
    setting: 'broker_url',
  });
  const store = new RedisQueueStore(config, transportOptions);
  return createVirtualTransport(store, {
    displayUrl: config.displayUrl,
    transportOptions,
    capabilities: { fanout: true, topic: true, priority: true, redelivery: true, deferredDelivery: true },
    isRecoverable: (error) => isRedisConnectionError(error) || isRedisConnectionError((error as { cause?: unknown } | null)?.cause),
  });
};

export { RedisQueueStore } from './store.js';
