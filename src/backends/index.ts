// openBackend(url): the URL scheme picks a result backend module, imported only when used. registerBackend adds
// schemes. With no result_backend configured the app uses the disabled backend, which says what to configure.

import { BackendDisabled, ImproperlyConfigured, UnknownScheme } from '../errors.js';
import { censorWhenInspected } from '../config/humanize.js';
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
  'redis+cluster': () => import('./redis.js'),
  'rediss+cluster': () => import('./redis.js'),
  postgres: () => import('./postgres.js'),
  postgresql: () => import('./postgres.js'),
  file: () => import('./file.js'),
  memcached: () => import('./memcached.js'),
  memcache: () => import('./memcached.js'),
  pylibmc: () => import('./memcached.js'),
  rpc: () => import('./rpc.js'),
};
/**
 * Result backends Celery has that celeriac does not: no test machine runs their servers, so they could not be kept
 * wire-compatible with Python. Each names the server, for the error.
 */
const unsupported: Record<string, string> = {
  mongodb: 'MongoDB', 'mongodb+srv': 'MongoDB', cassandra: 'Cassandra', couchbase: 'Couchbase', couchdb: 'CouchDB',
  cosmosdbsql: 'Azure Cosmos DB', azureblockblob: 'Azure Block Blob', riak: 'Riak', elasticsearch: 'Elasticsearch',
  dynamodb: 'AWS DynamoDB', s3: 'AWS S3', arangodb: 'ArangoDB', consul: 'Consul', mysql: 'MySQL', oracle: 'Oracle',
  mssql: 'Microsoft SQL Server', amqp: 'the old amqp result backend (removed in Celery 5; use rpc://)',
};
const registered = new Map<string, BackendFactory>();

/** Make `scheme://…` result_backend URLs open through `factory`. */
export function registerBackend(scheme: string, factory: BackendFactory): void {
  registered.set(scheme.toLowerCase(), factory);
}

/** The result_backend schemes celeriac opens itself, for error messages. */
function supportedSchemes(): string {
  const own = ['redis://', 'rediss://', 'sentinel://', 'redis+socket://', 'redis+cluster://', 'db+postgresql://', 'db+sqlite://', 'cache+memcached://', 'rpc://', 'file://', 'memory://'];
  return [...own, ...[...registered.keys()].map((s) => `${s}://`)].join(', ');
}

/**
 * Create the result backend for `options.url`. Celery's prefixes are understood: `db+sqlite://…` and
 * `db+postgresql://…` are the SQL backend, `cache+memcached://…` the cache backend. Throws UnknownScheme for a
 * scheme nobody handles, naming the supported ones (and, for Celery's backends celeriac lacks, why), or whatever
 * the backend throws when it cannot open.
 */
export async function openBackend(options: BackendOptions): Promise<ResultBackend> {
  const found = schemeOf(options.url);
  if (!found) throw new ImproperlyConfigured(`result_backend ${redactUrl(options.url)} has no scheme: write it like redis://localhost:6379/1 or sqlite://results.db.`);
  const scheme = found.replace(/^(db|cache)\+/, '');
  const factory = registered.get(scheme) ?? (await builtIn[scheme]?.())?.createBackend;
  // Printed (console.log, util.inspect), the backend shows URLs and passwords censored.
  if (factory) return censorWhenInspected(await factory({ ...options, url: options.url.replace(/^(db|cache)\+/i, '') }));
  const server = unsupported[scheme.replace(/\+.*$/, '')];
  if (server) {
    throw new UnknownScheme(`result_backend ${redactUrl(options.url)} asks for ${server}, a Celery result backend celeriac does not provide: no machine celeriac is tested on runs that server, so it could not be kept compatible with Python Celery. Use one of ${supportedSchemes()}, or add your own with registerBackend('${scheme}', factory).`, { context: { url: redactUrl(options.url), setting: 'result_backend' } });
  }
  throw new UnknownScheme(`No result backend for scheme "${scheme}://" in result_backend ${redactUrl(options.url)}: the supported schemes are ${supportedSchemes()}; add your own with registerBackend().`, { context: { url: redactUrl(options.url), setting: 'result_backend' } });
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
