// result_backend as Celery reads it: a URL, or a bare alias ('rpc', 'cache', 'disabled') completed from other
// settings. Pure: settings in, the URL and options to open out.

import { ImproperlyConfigured } from '../errors.js';
import type { Settings } from './settings.js';

/** What the app passes to openBackend. */
export interface ResultBackendTarget {
  /** A URL with a scheme: `rpc://`, `cache+memcached://h:11211/`, `redis://…`. */
  readonly url: string;
  /** result_backend_transport_options, with cache_backend_options under them for the cache backend. */
  readonly options: Readonly<Record<string, unknown>>;
}

type Read = <K extends 'result_backend' | 'cache_backend' | 'cache_backend_options' | 'result_backend_transport_options'>(name: K) => Settings[K];

/**
 * The backend a configured result_backend names, or null for 'disabled'. Bare aliases: 'rpc' is `rpc://`;
 * 'cache' is `cache+<cache_backend>` (Celery's spelling; ImproperlyConfigured when cache_backend is unset);
 * `cache+…` URLs also take cache_backend_options.
 */
export function resultBackendTarget(configured: string, read: Read): ResultBackendTarget | null {
  const transport = read('result_backend_transport_options') ?? {};
  const alias = configured.trim().toLowerCase();
  if (alias === 'disabled') return null;
  if (alias === 'rpc') return { url: 'rpc://', options: transport };
  let url = configured;
  if (alias === 'cache') {
    const cache = read('cache_backend');
    if (!cache) throw new ImproperlyConfigured("result_backend is 'cache' but cache_backend is not set: set cache_backend = 'memcached://127.0.0.1:11211/' (or write result_backend = 'cache+memcached://127.0.0.1:11211/').", { context: { setting: 'cache_backend' } });
    url = `cache+${cache}`;
  }
  if (/^cache\+/i.test(url)) return { url, options: { ...(read('cache_backend_options') ?? {}), ...transport } };
  return { url, options: transport };
}
