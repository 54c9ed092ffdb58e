// Memcached connections on memjs (binary protocol): servers from a `memcached://host:port;host2:port/` URL, the
// item flags Python's memcache clients use (so Python reads text as str), whole-second expiry as memcached wants it,
// and driver errors turned into OperationalErrors naming the redacted URL. Never logs and never prints a password.

import memjs from 'memjs';
import { inflateSync } from 'node:zlib';
import { redactUrl } from '../config/urls.js';
import { CeleryError, ImproperlyConfigured, OperationalError } from '../errors.js';
import { isNetworkError } from './network-errors.js';

/** Item flags of pylibmc and python-memcache: 16 = text (UTF-8 str), 8 = zlib-compressed. */
export const FLAG_TEXT = 16;
const FLAG_ZLIB = 8;
/** Memcached reads an expiry above 30 days as a UNIX time, not a number of seconds. */
const RELATIVE_EXPIRY_LIMIT_S = 30 * 86_400;
/** Memcached's longest key (text protocol; Python's clients refuse longer ones too). */
export const MAX_KEY_BYTES = 250;
const OPCODES_WITH_FLAGS = new Set([0x01, 0x02, 0x03]); // set, add, replace

/** Where and how to connect; built by memcachedConfig from the URL and options. */
export interface MemcachedConfig {
  /** `host:port` of each server (memjs spreads keys over them by its own hash). */
  readonly servers: readonly string[];
  /** The URL with any password hidden. */
  readonly displayUrl: string;
  /** Seconds one request may take before it is retried (memjs `timeout`); default 5. */
  readonly timeoutS: number;
  /** Tries per request (memjs `retries`); default 2. */
  readonly retries: number;
  readonly username?: string;
  readonly password?: string;
}

/**
 * Servers and options from a cache URL (`memcached://a:11211;b:11211/`, Celery's `;`-separated list; `memcache://`
 * and `pylibmc://` are the same) and cache_backend_options / result_backend_transport_options (`timeout` seconds,
 * `retries`, `username`, `password`). Throws ImproperlyConfigured when the URL names no server.
 */
export function memcachedConfig(url: string, options: Readonly<Record<string, unknown>> = {}): MemcachedConfig {
  const displayUrl = redactUrl(url);
  const m = /^(?:cache\+)?(?:memcached|memcache|pylibmc):\/\/([^/?#]*)/i.exec(url);
  const entries = (m?.[1] ?? '').split(';').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) throw new ImproperlyConfigured(`result_backend ${displayUrl} names no memcached server: write it like cache+memcached://127.0.0.1:11211/ (several servers: a;b).`, { context: { url: displayUrl, setting: 'result_backend' } });
  let username = typeof options.username === 'string' ? options.username : undefined;
  let password = typeof options.password === 'string' ? options.password : undefined;
  const servers = entries.map((entry) => {
    const at = entry.lastIndexOf('@');
    if (at >= 0) {
      const [user, pass] = entry.slice(0, at).split(':');
      username ??= decodeURIComponent(user ?? '');
      password ??= pass === undefined ? undefined : decodeURIComponent(pass);
    }
    const hostPort = entry.slice(at + 1);
    if (!/^(\[[^\]]+\]|[^:]+)(:\d{1,5})?$/.test(hostPort)) {
      throw new ImproperlyConfigured(`result_backend ${displayUrl} has a server '${hostPort}' that is not host or host:port: write it like cache+memcached://127.0.0.1:11211/.`, { context: { url: displayUrl, setting: 'result_backend' } });
    }
    return hostPort.includes(':') && !hostPort.endsWith(']') ? hostPort : `${hostPort}:11211`;
  });
  return {
    servers,
    displayUrl,
    timeoutS: positive(options.timeout, 5),
    retries: Math.max(1, Math.floor(positive(options.retries, 2))),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

function positive(value: unknown, fallback: number): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Memcached's expiry field for a TTL in ms: 0 = never; whole seconds rounded up; past 30 days a UNIX time. */
export function expiryField(ttlMs: number | undefined, nowMs = Date.now()): number {
  if (!ttlMs || ttlMs <= 0) return 0;
  const seconds = Math.ceil(ttlMs / 1000);
  return seconds > RELATIVE_EXPIRY_LIMIT_S ? Math.ceil((nowMs + ttlMs) / 1000) : seconds;
}

/** What idleAfter touches of a memjs server (not in its typings). */
interface MemjsServer {
  _socket?: { ref?(): void; unref?(): void };
}

/** One memcached client (memjs keeps one socket per server), with promise methods on Buffers. */
export class MemcachedConnection {
  private readonly client: memjs.Client;

  /** `textValues`: values are UTF-8 text (JSON/YAML results), stored with the text flag as Python's clients do. */
  constructor(readonly config: MemcachedConfig, textValues: boolean) {
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(textValues ? FLAG_TEXT : 0);
    this.client = memjs.Client.create(config.servers.join(','), {
      timeout: config.timeoutS,
      conntimeout: config.timeoutS,
      retries: config.retries,
      retry_delay: 0.1,
      keepAlive: true,
      ...(config.username ? { username: config.username, password: config.password ?? '' } : {}),
      // memjs logs failures to the console by default; errors reach the caller instead.
      logger: { log: () => undefined },
      serializer: {
        serialize: (opcode: number, value: string | Buffer, extras: Buffer | string) => {
          if (OPCODES_WITH_FLAGS.has(opcode) && Buffer.isBuffer(extras)) flags.copy(extras, 0);
          return { value, extras };
        },
        deserialize: (_opcode: number, value: Buffer | null, extras: Buffer | null) => ({ value, extras }),
      },
    } as memjs.ClientOptions);
  }

  /** The stored bytes (inflated when a Python client compressed them), or null when absent. */
  async get(key: string): Promise<Buffer | null> {
    const { value, flags } = await this.idleAfter(this.client.get(key));
    if (!value) return null;
    const flagBits = Buffer.isBuffer(flags) && flags.length >= 4 ? flags.readUInt32BE(0) : 0;
    return flagBits & FLAG_ZLIB ? inflateSync(value) : value;
  }

  async set(key: string, value: Uint8Array, ttlMs?: number): Promise<void> {
    await this.idleAfter(this.client.set(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength), { expires: expiryField(ttlMs) }));
  }

  /** Store only if absent; false when the key exists. */
  async add(key: string, value: Uint8Array, ttlMs?: number): Promise<boolean> {
    return this.idleAfter(this.client.add(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength), { expires: expiryField(ttlMs) }));
  }

  /** Append bytes to an existing value (atomic on the server); false when the key is absent. */
  async append(key: string, value: Uint8Array): Promise<boolean> {
    try {
      return await this.idleAfter(this.client.append(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength)));
    } catch (error) {
      // The binary protocol answers APPEND to an absent key with "Item not stored", which memjs raises.
      if (/not stored/i.test((error as Error).message)) return false;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.idleAfter(this.client.delete(key));
  }

  /** Add 1 and return the new value; an absent key starts at 1. */
  async increment(key: string, ttlMs?: number): Promise<number> {
    const { value } = await this.idleAfter(this.client.increment(key, 1, { initial: 1, expires: expiryField(ttlMs) }));
    return Number(value);
  }

  close(): void {
    this.client.close();
  }

  /**
   * An idle socket must not keep a finished script alive (as the Redis and AMQP drivers): a socket is ref'd while
   * a command waits for its reply and unref'd once it settles.
   */
  private async idleAfter<T>(op: Promise<T>): Promise<T> {
    const sockets = () => ((this.client as unknown as { servers?: MemjsServer[] }).servers ?? []).map((s) => s._socket);
    // The command is written in this tick: hold its socket (a new one is ref'd already) until the reply.
    for (const socket of sockets()) socket?.ref?.();
    try {
      return await op;
    } finally {
      for (const socket of sockets()) socket?.unref?.();
    }
  }
}

/** An OperationalError for a failed memcached call: what was being done, the redacted URL, what to check. */
export function memcachedFailure(error: unknown, config: MemcachedConfig, doing: string): Error {
  if (error instanceof CeleryError) return error;
  const message = (error as Error)?.message ?? String(error);
  const hint = isNetworkError(error) || /timed? ?out|connect/i.test(message)
    ? `Is memcached running at ${config.servers.join(', ')}?`
    : /too large/i.test(message) ? 'The value is larger than memcached\'s item size limit (1 MB unless memcached -I says otherwise): return smaller results.'
      : 'Check the memcached server.';
  return new OperationalError(`Memcached ${config.displayUrl} failed ${doing}: ${message}. ${hint}`, { cause: error, context: { url: config.displayUrl } });
}
