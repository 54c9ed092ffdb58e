// openBackend(url): the URL scheme picks a result backend module, imported only when used. registerBackend adds
// schemes. With no result_backend configured the app uses the disabled backend, which says what to configure.

import { BackendDisabled, ImproperlyConfigured, UnknownScheme } from '../errors.js';
import { redactUrl, schemeOf } from '../config/urls.js';
import type { BackendFactory, BackendOptions, ResultBackend } from './backend.js';

type Loader = () => Promise<{ createBackend: BackendFactory }>;

const builtIn: Record<string, Loader> = {
  memory: () => import('./memory.js'),
  sqlite: () => import('./sql.js'),
  redis: () => import('./redis.js'),
  rediss: () => import('./redis.js'),
  'redis+socket': () => import('./redis.js'),
  sentinel: () => import('./redis.js'),
  postgres: () => import('./postgres.js'),
  postgresql: () => import('./postgres.js'),
};
const registered = new Map<string, BackendFactory>();

/** Make `scheme://…` result_backend URLs open through `factory`. */
export function registerBackend(scheme: string, factory: BackendFactory): void {
  registered.set(scheme.toLowerCase(), factory);
}

/** Create the result backend for `options.url` (`db+sqlite://…` is Celery's spelling of the SQL backend). */
export async function openBackend(options: BackendOptions): Promise<ResultBackend> {
  const found = schemeOf(options.url);
  if (!found) throw new ImproperlyConfigured(`result_backend ${redactUrl(options.url)} has no scheme: write it like redis://localhost:6379/1 or sqlite://results.db.`);
  const scheme = found.replace(/^db\+/, '');
  const factory = registered.get(scheme) ?? (await builtIn[scheme]?.())?.createBackend;
  if (!factory) {
    const known = [...new Set([...Object.keys(builtIn), ...registered.keys()])].sort().join(', ');
    throw new UnknownScheme(`No result backend for scheme "${scheme}://" in result_backend ${redactUrl(options.url)}: known schemes are ${known}; add your own with registerBackend().`);
  }
  return factory({ ...options, url: options.url.replace(/^db\+/i, '') });
}

/** The backend used when result_backend is not set: storing is a no-op, reading says what to configure. */
export function disabledBackend(): ResultBackend {
  const disabled = () => Promise.reject(new BackendDisabled('No result backend is configured, so results cannot be read. Set result_backend (e.g. redis://localhost:6379/1 or sqlite://results.db) or pass { backend } to new Celery().'));
  return {
    capabilities: { push: false, nativeChords: false },
    displayUrl: 'disabled://',
    store: async () => undefined,
    get: disabled,
    waitFor: disabled,
    forget: async () => undefined,
    saveGroup: disabled,
    getGroup: disabled,
    forgetGroup: async () => undefined,
    setChordSize: disabled,
    addChordPart: disabled,
    close: async () => undefined,
  };
}
