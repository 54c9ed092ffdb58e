// Redis connections, shared by the broker store (transports/redis/) and the result backend (backends/redis.ts):
// settings from a broker/backend URL plus options: redis://, rediss:// (TLS), redis+socket:///path, sentinel://…;sentinel://… (transport option
// master_name). Builds ioredis clients and turns driver errors into OperationalErrors naming the redacted URL.
// Never logs and never puts a password into a message.

import { readFileSync } from 'node:fs';
import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { censorWhenInspected } from '../config/humanize.js';
import { parseUrl, redactUrl, type ParsedUrl } from '../config/urls.js';
import { CeleryError, ImproperlyConfigured, OperationalError } from '../errors.js';
import { isNetworkError } from './network-errors.js';
import { FirstConnect } from './redis-first-connect.js';
import { clusterNodes, openRedisCluster, type ClusterNode } from './redis-cluster.js';

/** Everything needed to open connections to one Redis server (or Sentinel-managed master). */
export interface RedisConnectionConfig {
  /** The URL with its password hidden: for errors, logs and the banner. */
  readonly displayUrl: string;
  /** Database number (URL path, `?virtual_host=` for sockets; default 0). Fanout channels are prefixed with it. */
  readonly db: number;
  /** ioredis options common to every connection of this config (per node, for a cluster). */
  readonly options: RedisOptions;
  /** Seed nodes of a Redis Cluster (redis+cluster://); absent for one server or Sentinel. */
  readonly cluster?: readonly ClusterNode[];
}

/** What redisConnectionConfig reads: the URL, the transport options and TLS settings of a broker or backend. */
export interface RedisConnectionInput {
  readonly url: string;
  /** broker_transport_options / result_backend_transport_options. */
  readonly transportOptions?: Readonly<Record<string, unknown>>;
  /** broker_use_ssl / redis_backend_use_ssl: true, or Celery's ssl_* keys, or Node TLS options. */
  readonly ssl?: Readonly<Record<string, unknown>> | boolean;
  readonly connectTimeoutMs?: number;
  /** The setting named in configuration errors ('broker_url', 'result_backend'). */
  readonly setting?: string;
}

const SSL_KEYS = ['ssl_cert_reqs', 'ssl_ca_certs', 'ssl_certfile', 'ssl_keyfile', 'ssl_check_hostname'] as const;

/** Parse the URL and options into ioredis options. Throws ImproperlyConfigured (with a redacted URL) when unusable. */
export function redisConnectionConfig(input: RedisConnectionInput): RedisConnectionConfig {
  const setting = input.setting ?? 'broker_url';
  const parsed = parseUrl(input.url, { setting });
  const displayUrl = redactUrl(input.url);
  const t = input.transportOptions ?? {};
  if (!['redis', 'redis+socket', 'sentinel', 'redis+cluster'].includes(parsed.base)) {
    throw new ImproperlyConfigured(`${setting} ${displayUrl} is not a Redis URL. Write it like redis://:password@localhost:6379/0.`, { context: { url: displayUrl, setting } });
  }
  const db = parsed.db ?? (t.db === undefined ? 0 : Number(t.db));
  if (parsed.base === 'redis+cluster' && db !== 0) {
    throw new ImproperlyConfigured(`${setting} ${displayUrl} names database ${db}, but a Redis Cluster has database 0 only. Drop the /${db}; keep apps apart with global_keyprefix.`, { context: { url: displayUrl, setting } });
  }
  const username = parsed.username ?? stringOr(t.username);
  const password = parsed.password ?? stringOr(parsed.query.password) ?? stringOr(t.password);
  const seconds = (v: unknown) => (v === undefined || v === null || Number.isNaN(Number(v)) ? undefined : Number(v) * 1000);
  const options: RedisOptions = {
    db,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    connectTimeout: seconds(t.socket_connect_timeout) ?? input.connectTimeoutMs ?? 10_000,
    ...(t.socket_keepalive === false ? { keepAlive: 0 } : {}),
    ...(typeof t.client_name === 'string' ? { connectionName: t.client_name } : {}),
  };

  let cluster: ClusterNode[] | undefined;
  if (parsed.base === 'redis+cluster') {
    cluster = clusterNodes(input.url, displayUrl, setting);
  } else if (parsed.base === 'redis+socket') {
    options.path = parsed.path ?? undefined;
  } else if (parsed.base === 'sentinel') {
    const master = stringOr(t.master_name);
    if (!master) {
      throw new ImproperlyConfigured(`${setting} ${displayUrl} uses Sentinel but no master name is set. Add it to the transport options, e.g. broker_transport_options = { master_name: 'mymaster' }.`, { context: { url: displayUrl, setting } });
    }
    const nodes = [parsed, ...parsed.alternates];
    options.sentinels = nodes.map((n) => ({ host: n.hostname ?? 'localhost', port: n.port ?? 26379 }));
    options.name = master;
    const kwargs = (t.sentinel_kwargs ?? {}) as Record<string, unknown>;
    if (typeof kwargs.password === 'string') options.sentinelPassword = kwargs.password;
    if (typeof kwargs.username === 'string') options.sentinelUsername = kwargs.username;
  } else {
    options.host = parsed.hostname ?? 'localhost';
    options.port = parsed.port ?? 6379;
  }

  const tls = tlsOptions(parsed, input.ssl, displayUrl, setting);
  if (tls) {
    if (parsed.base === 'sentinel') {
      options.sentinelTLS = tls;
      options.enableTLSForSentinelMode = true;
    }
    options.tls = tls;
  }
  return { displayUrl, db, options: censorWhenInspected(options), ...(cluster ? { cluster } : {}) };
}

function stringOr(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** TLS from rediss:// (with ?ssl_* query parameters) or the ssl option (Celery's ssl_* keys or Node TLS keys). */
function tlsOptions(parsed: ParsedUrl, ssl: RedisConnectionInput['ssl'], displayUrl: string, setting: string): RedisOptions['tls'] | undefined {
  const fromOption = typeof ssl === 'object' && ssl !== null ? ssl : {};
  const wanted = parsed.tls || ssl === true || Object.keys(fromOption).length > 0 || SSL_KEYS.some((k) => k in parsed.query);
  if (!wanted) return undefined;
  const get = (key: string): unknown => parsed.query[key] ?? fromOption[key];
  const tls: Record<string, unknown> = {};
  // Node TLS keys given directly (ca, cert, key, rejectUnauthorized, servername …) pass through.
  for (const [k, v] of Object.entries(fromOption)) if (!k.startsWith('ssl_')) tls[k] = v;
  const reqs = get('ssl_cert_reqs');
  if (reqs !== undefined && reqs !== null) {
    const level = String(reqs).toLowerCase().replace(/^(ssl\.)?cert_/, '');
    // Python's ssl constants: CERT_NONE = 0, CERT_OPTIONAL = 1, CERT_REQUIRED = 2.
    if (level === 'none' || level === '0') tls.rejectUnauthorized = false;
    else if (['optional', 'required', '1', '2'].includes(level)) tls.rejectUnauthorized = true;
    else throw new ImproperlyConfigured(`${setting} ${displayUrl} has ssl_cert_reqs=${String(reqs)}; use CERT_REQUIRED, CERT_OPTIONAL or CERT_NONE.`, { context: { url: displayUrl, setting } });
  }
  const file = (key: string, field: string) => {
    const path = get(key);
    if (typeof path !== 'string' || path === '') return;
    try {
      tls[field] = readFileSync(path);
    } catch (cause) {
      throw new ImproperlyConfigured(`${setting} ${displayUrl}: cannot read ${key} file ${path} (${(cause as Error).message}). Check the path and its permissions.`, { cause, context: { url: displayUrl, setting } });
    }
  };
  file('ssl_ca_certs', 'ca');
  file('ssl_certfile', 'cert');
  file('ssl_keyfile', 'key');
  if (String(get('ssl_check_hostname') ?? '').toLowerCase() === 'false') tls.checkServerIdentity = () => undefined;
  return tls as RedisOptions['tls'];
}

/** What a connection is for: commands (pipelined), blocking takes (fail fast), or pub/sub (re-subscribes). */
export type ConnectionRole = 'command' | 'blocking' | 'subscriber';

/**
 * A new ioredis client for one role. Commands: auto-pipelined, queued while offline for up to
 * `maxRetriesPerRequest` reconnect attempts (about 10 s with the default 20), then rejected — never dropped
 * silently. Blocking: fails fast (2 attempts) so the consume loop reports the outage and backs off. Subscriber:
 * re-subscribes after a reconnect. All connect lazily, on first use; the first connection is bounded by the
 * connect timeout (broker_connection_timeout), after which waiting commands fail and the client stops retrying
 * until its next command. For a cluster config this is an ioredis
 * Cluster (drivers/redis-cluster.ts), which answers the same commands; the keys of one command or script must then
 * share a hash slot (`client.isCluster` tells).
 */
export function openRedis(config: RedisConnectionConfig, role: ConnectionRole, transportOptions: Readonly<Record<string, unknown>> = {}): Redis {
  const first = new FirstConnect(config.options.connectTimeout ?? 10_000);
  if (config.cluster) {
    const cluster = openRedisCluster(config.cluster, config.options, role, transportOptions, (times) => first.retryDelay(times));
    // A node's failure (a refused connection, a wrong password) is the cause a given-up first connection names.
    cluster.on('node error', (error) => {
      scrubRedisError(error);
      first.failed(error);
    });
    boundFirstConnect(cluster, first);
    const send = cluster.sendCommand.bind(cluster);
    cluster.sendCommand = ((...args: Parameters<Cluster['sendCommand']>) => {
      restartIfGivenUp(cluster, first);
      const reply = send(...args) as Promise<unknown>;
      reply.catch((error: unknown) => first.explain(error));
      return reply;
    }) as Cluster['sendCommand'];
    censorWhenInspected(cluster.options);
    // The node pool and each node's client keep the password too (inspected at depth, they would show it).
    const pool = (cluster as unknown as { connectionPool?: NodeJS.EventEmitter & object }).connectionPool;
    if (pool) {
      censorWhenInspected(pool);
      pool.on('+node', (node: Redis) => {
        censorWhenInspected(node.options);
        censorWhenInspected(node);
      });
    }
    return censorWhenInspected(cluster) as unknown as Redis;
  }
  const retries = transportOptions.max_retries_per_request;
  const client = new Redis({
    ...config.options,
    lazyConnect: true,
    enableAutoPipelining: role === 'command',
    maxRetriesPerRequest: role === 'blocking' ? 2 : retries === null ? null : Number(retries ?? 20),
    autoResubscribe: true,
    retryStrategy: (times) => first.retryDelay(times),
    // A replica promoted or a master moved (Sentinel): reconnect instead of failing every write.
    reconnectOnError: (error) => /^(READONLY|LOADING|MASTERDOWN)/.test(error.message),
  });
  boundFirstConnect(client, first);
  // A blocking take waits for as long as its consumer lives: the subscription holds the process (utils/loop-hold),
  // so that socket never does (an rpc:// reply consumer must not keep a finished script alive).
  refWhilePending(client, first, role !== 'blocking');
  censorWhenInspected(client.options);
  return censorWhenInspected(client);
}

/** Feed a client's events to its first-connection bound; closing it on purpose ends the bound for good. */
function boundFirstConnect(client: Redis | Cluster, first: FirstConnect): void {
  // Errors surface through the commands that fail; without a listener ioredis would print them.
  client.on('error', (error) => {
    scrubRedisError(error);
    first.failed(error);
  });
  client.on('connecting', () => first.attempt());
  client.on('ready', () => first.ready());
  const disconnect = client.disconnect.bind(client);
  client.disconnect = (reconnect?: boolean) => {
    if (!reconnect) first.close();
    disconnect(reconnect);
  };
}

/** Given up on a first connection that never came: the next command starts a new bounded attempt. */
function restartIfGivenUp(client: Redis | Cluster, first: FirstConnect): void {
  if (first.mayRestart && client.status === 'end') {
    first.restart();
    client.connect().catch(() => undefined);
  }
}

/**
 * The socket holds the process only while a command waits for its reply (never, when `holds` is false: blocking
 * takes, whose consumer holds the process itself): an idle connection lets a script that has nothing left to do
 * exit, as a Python client does. Every command, pipelined ones too, goes through sendCommand.
 */
function refWhilePending(client: Redis, first: FirstConnect, holds: boolean): void {
  let pending = 0;
  const sync = () => {
    if (pending > 0 && holds) client.stream?.ref?.();
    else client.stream?.unref?.();
  };
  const settled = (error?: unknown) => {
    scrubRedisError(error);
    first.explain(error);
    if (--pending === 0) sync();
  };
  // A reconnect brings a new socket, ref'd by default.
  client.on('connect', sync);
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    restartIfGivenUp(client, first);
    const reply = send(...args) as Promise<unknown>;
    if (pending++ === 0) sync();
    reply.then(settled, settled);
    return reply;
  }) as Redis['sendCommand'];
}

/** Close a client: QUIT when connected (pending replies arrive first), otherwise just drop the socket. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
  }
  client.disconnect(false);
}

/** Whether an error is a connection-level failure worth a reconnect (kombu's connection_errors for Redis). */
export function isRedisConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (isNetworkError(error)) return true;
  const e = error as Error;
  if (e.name === 'MaxRetriesPerRequestError' || e.name === 'ClusterAllFailedError') return true;
  return /^(Connection is closed|Stream isn't writeable|connect ETIMEDOUT|LOADING|READONLY|MASTERDOWN|All sentinels are unreachable|CLUSTERDOWN|TRYAGAIN|None of startup nodes|Failed to refresh slots cache)/i.test(e.message);
}

/**
 * Wrap a driver error as an OperationalError saying what failed, where (redacted URL) and what to do. Errors
 * that are already CeleryErrors pass through.
 */
export function redisFailure(error: unknown, displayUrl: string, doing: string): Error {
  if (CeleryError.is(error)) return error;
  scrubRedisError(error);
  const raw = error instanceof Error ? error.message : String(error);
  // ioredis's text for "never connected" names its own option; say what happened instead.
  const message = /max retries per request limit/i.test(raw) ? `no connection could be made (${raw.match(/\(which is (\d+)\)/)?.[1] ?? 'several'} attempts)` : raw;
  let advice: string;
  if (/WRONGPASS|NOAUTH|invalid username-password|AUTH/i.test(message)) {
    advice = 'Authentication failed: check the user name and password in the URL.';
  } else if (isRedisConnectionError(error)) {
    advice = 'Redis is unreachable: check that redis-server is running and the URL is right, then retry (the command was not confirmed; at worst a retry delivers a message twice).';
  } else {
    advice = 'Check the Redis server log and the URL.';
  }
  return new OperationalError(`Redis at ${displayUrl} failed while ${doing}: ${redactMessage(message).replace(/\.+$/, '')}. ${advice}`, { cause: error, context: { url: displayUrl } });
}

/** Commands whose arguments carry credentials (AUTH password, HELLO … AUTH user password, MIGRATE … AUTH …). */
const SECRET_COMMANDS = new Set(['auth', 'hello', 'migrate', 'acl', 'config']);

/**
 * Hide the arguments of a credential-carrying command in an ioredis error (and its causes), in place: ioredis puts
 * the failed command, AUTH password included, on the error a user may log. Called on every failed command.
 */
export function scrubRedisError(error: unknown): void {
  for (let e = error, hops = 0; typeof e === 'object' && e !== null && hops < 8; e = (e as { cause?: unknown }).cause, hops++) {
    const command = (e as { command?: { name?: unknown; args?: unknown } }).command;
    if (command && typeof command === 'object' && Array.isArray(command.args) && SECRET_COMMANDS.has(String(command.name).toLowerCase())) {
      command.args = command.args.map(() => '**');
    }
    if (e instanceof Error && /:\/\/[^/\s]*:[^@\s]*@/.test(e.message)) e.message = redactMessage(e.message);
  }
}

function redactMessage(message: string): string {
  // Driver messages may echo a URL; never let a password through.
  return message.replace(/[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+/g, (u) => redactUrl(u));
}
