// file:///path result backend: one file per key in a directory, named and encoded as Celery's filesystem backend
// does (`<dir>/celery-task-meta-<id>` holding the JSON document), so Python and celeriac on one host share results.
// For single-host setups without a server. Never reads or writes outside its directory.
//
// URL forms (Celery's): file:///absolute/dir, file://localhost/absolute/dir, file://relative/dir.
// Writes go through a temporary file and a rename, so a reader never sees half a document. Steps that must be
// atomic across processes (never overwrite a SUCCESS, chord parts) hold a per-key lock: a directory made with
// mkdir, which only one process can create. result_expires removes files older than it (by modification time, as
// Celery's cleanup does) when they are read and when the backend opens.

import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ImproperlyConfigured, OperationalError } from '../errors.js';
import { sleepLong } from '../utils/long-timer.js';
import type { BackendFactory, KeyValueStore } from './backend.js';
import { createKeyValueBackend, GROUP_KEY_PREFIX, TASK_KEY_PREFIX } from './key-value.js';

/** A lock older than this was left by a process that died while holding it. */
const STALE_LOCK_MS = 10_000;
/** The longest wait for a lock before giving up with an error. */
const LOCK_TIMEOUT_MS = 30_000;
/** Celery's key prefixes, whose files expire; anything else in the directory is left alone. */
const EXPIRING_PREFIXES = [TASK_KEY_PREFIX, GROUP_KEY_PREFIX, 'chord-unlock-'];
// A key becomes a file name: it must stay one name inside the directory (a task id comes from a message).
const UNSAFE_KEY = /[/\\\0]|^\.\.?$/;
const MAX_KEY_BYTES = 200;

/**
 * The directory of a `file://` URL, as Celery reads it: `file://localhost/x` and `file:///x` are `/x`,
 * `file://x` is `x` relative to the working directory. Throws ImproperlyConfigured for any other form.
 */
export function filePathOf(url: string): string {
  const m = /^file:\/\/(localhost(?=\/))?(.*)$/i.exec(url);
  if (!m || m[2] === '') throw new ImproperlyConfigured(`result_backend ${url} names no directory: write it like file:///var/celery/results (an absolute path after file://).`);
  return m[2]!;
}

/**
 * A KeyValueStore of files in `dir`: get/set/delete map to one file per key; a sorted set (chord parts) is a
 * sub-directory with one file per member. No push: waiting clients poll.
 */
export class FileKeyValueStore implements KeyValueStore {
  /** Per-key queues, so this process never contends with itself for a lock. */
  private readonly local = new Map<string, Promise<unknown>>();

  constructor(readonly dir: string, private readonly expiresMs?: number) {}

  /** Check the directory works (write, read back, delete a test file), as Celery does at start. */
  async check(): Promise<void> {
    const probe = `.fs-backend-${randomUUID()}`;
    try {
      await this.set(probe, Buffer.from('test value'));
      const back = await this.get(probe);
      if (!back || Buffer.from(back).toString() !== 'test value') throw new Error('what was read back differs from what was written');
      await this.delete(probe);
    } catch (cause) {
      throw new ImproperlyConfigured(`The file-system result backend cannot use ${this.dir}: ${(cause as Error).message}. Create the directory and make it writable by this process (result_backend = file:///path/to/dir).`, { cause });
    }
  }

  private path(key: string): string {
    if (UNSAFE_KEY.test(key) || Buffer.byteLength(key) > MAX_KEY_BYTES) {
      throw new OperationalError(`Result key ${JSON.stringify(key.slice(0, 80))} cannot be a file name in ${this.dir} (it has a path separator or NUL, or is longer than ${MAX_KEY_BYTES} bytes): use plain task ids such as UUIDs.`);
    }
    return join(this.dir, key);
  }

  async get(key: string): Promise<Uint8Array | null> {
    const file = this.path(key);
    try {
      if (this.expiresMs && (await stat(file)).mtimeMs + this.expiresMs <= Date.now()) {
        await rm(file, { force: true, recursive: true });
        return null;
      }
      return await readFile(file);
    } catch (error) {
      if (isMissing(error)) return null;
      throw this.failure(error, `reading ${key}`);
    }
  }

  mget(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    const file = this.path(key);
    // A dot name matches none of Celery's prefixes, so Python's cleanup never takes a file being written.
    const temporary = join(this.dir, `.${key}.${randomUUID()}.tmp`);
    try {
      await writeFile(temporary, value);
      await rename(temporary, file);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw this.failure(error, `writing ${key}`);
    }
  }

  setUnlessSucceeded(key: string, value: Uint8Array): Promise<boolean> {
    return this.locked(key, async () => {
      const current = await this.get(key);
      if (current && isSuccess(current)) return false;
      await this.set(key, value);
      return true;
    });
  }

  async delete(key: string): Promise<void> {
    try {
      await rm(this.path(key), { force: true, recursive: true });
    } catch (error) {
      throw this.failure(error, `deleting ${key}`);
    }
  }

  incr(key: string): Promise<number> {
    return this.locked(key, async () => {
      const current = await this.get(key);
      const next = (current ? Number.parseInt(Buffer.from(current).toString(), 10) || 0 : 0) + 1;
      await this.set(key, Buffer.from(String(next)));
      return next;
    });
  }

  /** Members are files `<score>-<sha1 of member>` in the directory `<key>`: adding the same member twice is one. */
  zadd(key: string, score: number, member: Uint8Array): Promise<number> {
    return this.locked(key, async () => {
      const dir = this.path(key);
      const name = `${score}-${createHash('sha1').update(member).digest('hex')}`;
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, name), member);
        return (await readdir(dir)).length;
      } catch (error) {
        throw this.failure(error, `adding to ${key}`);
      }
    });
  }

  async zrange(key: string): Promise<Uint8Array[]> {
    const dir = this.path(key);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw this.failure(error, `reading ${key}`);
    }
    const ordered = names.map((name) => ({ name, score: Number.parseFloat(name) })).sort((a, b) => a.score - b.score);
    return Promise.all(ordered.map(({ name }) => readFile(join(dir, name))));
  }

  /** Remove Celery-named files older than result_expires (Celery's backend_cleanup for this backend). */
  async cleanup(): Promise<number> {
    if (!this.expiresMs) return 0;
    const cutoff = Date.now() - this.expiresMs;
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      if (!EXPIRING_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
      const file = join(this.dir, name);
      const info = await stat(file).catch(() => null);
      if (info && info.mtimeMs < cutoff) {
        await rm(file, { force: true, recursive: true });
        removed += 1;
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.local.values()]);
  }

  /** Run `fn` holding the lock of `key`: queued behind this process's other holders, then a mkdir lock. */
  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    this.path(key);
    const lock = join(this.dir, `.lock-${key}`);
    const before = this.local.get(key) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(async () => {
      await this.acquire(lock, key);
      try {
        return await fn();
      } finally {
        await rmdir(lock).catch(() => undefined);
      }
    });
    this.local.set(key, run);
    void run.catch(() => undefined).then(() => {
      if (this.local.get(key) === run) this.local.delete(key);
    });
    return run;
  }

  private async acquire(lock: string, key: string): Promise<void> {
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(lock);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw this.failure(error, `locking ${key}`);
      }
      const info = await stat(lock).catch(() => null);
      if (info && Date.now() - info.mtimeMs > STALE_LOCK_MS) {
        await rmdir(lock).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) throw new OperationalError(`The lock ${lock} of the file-system result backend was held for over ${LOCK_TIMEOUT_MS / 1000} s. If no celeriac or Celery process is using ${this.dir}, remove it.`);
      // Another process holds it for one small write: retry soon, backing off up to 50 ms.
      await sleepLong(Math.min(50, 1 + attempt * 2));
    }
  }

  private failure(error: unknown, doing: string): Error {
    if (error instanceof OperationalError) return error;
    return new OperationalError(`The file-system result backend failed ${doing} in ${this.dir}: ${(error as Error).message}. Check that the directory exists, is writable, and the disk is not full.`, { cause: error });
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Whether a JSON result document has status SUCCESS (other serializers are never checked here). */
function isSuccess(bytes: Uint8Array): boolean {
  try {
    return (JSON.parse(Buffer.from(bytes).toString('utf8')) as { status?: unknown })?.status === 'SUCCESS';
  } catch {
    return false;
  }
}

/**
 * Open the file:// result backend on the directory of `options.url`; rejects with ImproperlyConfigured when the
 * directory cannot be written and read back.
 */
export const createBackend: BackendFactory = async (options) => {
  const store = new FileKeyValueStore(resolve(filePathOf(options.url)), options.expiresMs);
  await store.check();
  await store.cleanup().catch(() => undefined);
  return createKeyValueBackend(store, { ...options, displayUrl: options.url });
};
