// openTransport(url): the URL scheme picks a transport module, imported only when used so that an app on SQLite never
// loads the Redis or AMQP driver. registerTransport adds schemes (third-party brokers, test doubles).

import { ImproperlyConfigured, UnknownScheme } from '../errors.js';
import { censorWhenInspected } from '../config/humanize.js';
import { redactUrl, schemeOf } from '../config/urls.js';
import type { Transport, TransportFactory, TransportOptions } from './transport.js';
import { isNetworkError } from '../drivers/network-errors.js';

type Loader = () => Promise<{ createTransport: TransportFactory }>;

const builtIn: Record<string, Loader> = {
  memory: () => import('./memory/index.js'),
  sqlite: () => import('./sql/sqlite.js'),
  redis: () => import('./redis/index.js'),
  rediss: () => import('./redis/index.js'),
  'redis+socket': () => import('./redis/index.js'),
  sentinel: () => import('./redis/index.js'),
  'redis+cluster': () => import('./redis/index.js'),
  'rediss+cluster': () => import('./redis/index.js'),
  amqp: () => import('./amqp/index.js'),
  amqps: () => import('./amqp/index.js'),
  pyamqp: () => import('./amqp/index.js'),
  postgres: () => import('./sql/postgres.js'),
  postgresql: () => import('./sql/postgres.js'),
};
const registered = new Map<string, TransportFactory>();

/** Make `scheme://…` broker URLs open through `factory`. */
export function registerTransport(scheme: string, factory: TransportFactory): void {
  registered.set(scheme.toLowerCase(), factory);
}

/** Create (but do not connect) the transport for `options.url`. */
export async function openTransport(options: TransportOptions): Promise<Transport> {
  const found = schemeOf(options.url);
  if (!found) throw new ImproperlyConfigured(`Broker URL ${redactUrl(options.url)} has no scheme: write it like sqlite://celeriac.db, redis://localhost:6379/0 or amqp://guest@localhost//.`);
  // kombu accepts SQLAlchemy-style names such as sqla+postgresql://
  const scheme = found.replace(/^sqla\+/, '');
  const factory = registered.get(scheme) ?? (await builtIn[scheme]?.())?.createTransport;
  if (!factory) {
    const known = [...new Set([...Object.keys(builtIn), ...registered.keys()])].sort().join(', ');
    throw new UnknownScheme(`No broker transport for scheme "${scheme}://": known schemes are ${known}; add your own with registerTransport().`);
  }
  // Printed (console.log, util.inspect), the transport shows URLs and passwords censored.
  return censorWhenInspected(await factory(options));
}

/**
 * Whether a failed broker connect means the broker cannot be reached (yet): a network error anywhere in the cause
 * chain, or a Redis client out of reconnect attempts. Worth retrying at worker start (broker_connection_retry_on_startup),
 * unlike a wrong URL, file or password.
 */
export function isBrokerUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, message } = e as { name?: unknown; message?: unknown };
    if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError' || /All sentinels are unreachable|None of startup nodes/.test(String(message))) return true;
  }
  return isNetworkError(error);
}
