// A ResultBackend over any KeyValueStore, with Celery's key names and documents (REDIS-WIRE.md §6–7): task metas,
// saved groups and the native chord counter. Redis and memory supply the store; waiting uses the store's push
// notifications when it has them and polls otherwise.

import { TimeoutError } from '../errors.js';
import { decodeResultMeta, encodeResultMeta, type ResultMeta } from '../protocol/result-meta.js';
import { acceptSet, decode, encode, getSerializer } from '../protocol/serializers.js';
import { READY_STATES, SUCCESS } from '../states.js';
import { setLongTimeout, sleepLong } from '../utils/long-timer.js';
import type { BackendOptions, ChordPart, KeyValueStore, MemberTuple, ResultBackend, WaitOptions } from './backend.js';

/** Key of a task's result document: `celery-task-meta-<task id>` (Celery's get_key_for_task). */
export const TASK_KEY_PREFIX = 'celery-task-meta-';
/** Key of a saved group and its chord counters: `celery-taskset-meta-<group id>` (Celery's get_key_for_group). */
export const GROUP_KEY_PREFIX = 'celery-taskset-meta-';
/** Python's default result_expires (1 day), used for group and chord keys as Celery does. */
const DEFAULT_EXPIRES_MS = 86_400_000;
const anySerializer = acceptSet(['json', 'msgpack', 'yaml', 'auth']);

/**
 * A ResultBackend over any KeyValueStore with Celery's key names and documents (Celery's KeyValueStoreBackend):
 * results, groups, chord counters, result_expires as TTL. `displayUrl` names the store in errors.
 */
export function createKeyValueBackend(store: KeyValueStore, options: BackendOptions & { displayUrl: string }): ResultBackend {
  return new KeyValueBackend(store, options);
}

class KeyValueBackend implements ResultBackend {
  readonly capabilities: ResultBackend['capabilities'];
  readonly displayUrl: string;
  readonly coordination?: KeyValueStore['coordination'];
  private readonly contentType: string;

  constructor(private readonly kv: KeyValueStore, private readonly options: BackendOptions & { displayUrl: string }) {
    this.capabilities = { push: Boolean(kv.subscribe), nativeChords: true };
    this.displayUrl = options.displayUrl;
    this.coordination = kv.coordination;
    this.contentType = getSerializer(options.serializer)?.contentType ?? 'application/json';
  }

  private encode(value: unknown): Uint8Array {
    return encode(value, this.options.serializer).body;
  }

  private decode(bytes: Uint8Array, where: string): unknown {
    return decode({ body: bytes, contentType: this.contentType }, anySerializer, where);
  }

  async store(taskId: string, meta: ResultMeta): Promise<void> {
    const key = TASK_KEY_PREFIX + taskId;
    const value = encodeResultMeta(meta, this.options.serializer);
    // Celery never overwrites a stored SUCCESS (a redelivered task must not turn it back into STARTED). With JSON
    // documents the store can check that in the same step as the write: one round trip instead of two.
    if (this.kv.setUnlessSucceeded && this.contentType === 'application/json') {
      await this.kv.setUnlessSucceeded(key, value, this.options.expiresMs);
      return;
    }
    const current = await this.get(taskId).catch(() => null);
    if (current?.status === SUCCESS) return;
    await this.kv.set(key, value, this.options.expiresMs);
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    const bytes = await this.kv.get(TASK_KEY_PREFIX + taskId);
    return bytes ? decodeResultMeta(bytes, this.options.serializer, taskId) : null;
  }

  async waitFor(taskId: string, options: WaitOptions): Promise<ResultMeta> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    const timeout = () => new TimeoutError(`The result of task ${taskId} was not ready within ${(options.timeoutMs ?? 0) / 1000} s (backend ${this.displayUrl}). Is a worker consuming its queue?`, { context: { taskId } });
    if (this.kv.subscribe) {
      let settle!: (meta: ResultMeta) => void;
      const pushed = new Promise<ResultMeta>((resolve) => (settle = resolve));
      // Subscribe first, then read: a result written in between is caught by one or the other.
      const stop = await this.kv.subscribe(TASK_KEY_PREFIX + taskId, (bytes) => {
        try {
          const meta = decodeResultMeta(bytes, this.options.serializer, taskId);
          if (READY_STATES.has(meta.status)) settle(meta);
        } catch {
          // A value we cannot read is reported by the final get below, with its reason.
        }
      });
      try {
        const stored = await this.get(taskId);
        if (stored && READY_STATES.has(stored.status)) return stored;
        return await raceDeadline(pushed, deadline, options.signal, timeout);
      } finally {
        await stop();
      }
    }
    for (;;) {
      const stored = await this.get(taskId);
      if (stored && READY_STATES.has(stored.status)) return stored;
      if (options.signal?.aborted) throw options.signal.reason ?? timeout();
      const left = deadline - Date.now();
      if (left <= 0) throw timeout();
      await sleepLong(Math.min(options.intervalMs, left), { signal: options.signal });
    }
  }

  async forget(taskId: string): Promise<void> {
    await this.kv.delete(TASK_KEY_PREFIX + taskId);
  }

  async saveGroup(groupId: string, members: readonly MemberTuple[]): Promise<void> {
    const doc = { result: [[groupId, null], members] };
    await this.kv.set(GROUP_KEY_PREFIX + groupId, this.encode(doc), this.options.expiresMs ?? DEFAULT_EXPIRES_MS);
  }

  async getGroup(groupId: string): Promise<readonly MemberTuple[] | null> {
    const bytes = await this.kv.get(GROUP_KEY_PREFIX + groupId);
    if (!bytes) return null;
    const doc = this.decode(bytes, `group ${groupId}`) as { result?: [unknown, unknown[]] };
    return Array.isArray(doc?.result?.[1]) ? doc.result[1] : [];
  }

  async forgetGroup(groupId: string): Promise<void> {
    await this.kv.delete(GROUP_KEY_PREFIX + groupId);
  }

  async setChordSize(groupId: string, size: number): Promise<void> {
    await this.kv.set(`${GROUP_KEY_PREFIX}${groupId}.s`, new TextEncoder().encode(String(size)), DEFAULT_EXPIRES_MS);
  }

  async addChordPart(groupId: string, part: ChordPart): Promise<readonly ChordPart[] | null> {
    const base = GROUP_KEY_PREFIX + groupId;
    const count = await this.kv.zadd(`${base}.j`, part.index, this.encode([1, part.taskId, part.state, part.result]), DEFAULT_EXPIRES_MS);
    const [adjust, size] = await this.kv.mget([`${base}.t`, `${base}.s`]);
    const total = toInt(size) + toInt(adjust);
    if (!size || count !== total) return null;
    const members = await this.kv.zrange(`${base}.j`);
    await Promise.all([`${base}.j`, `${base}.t`, `${base}.s`].map((k) => this.kv.delete(k)));
    return members.map((bytes, index) => {
      const [, taskId, state, result] = this.decode(bytes, `chord ${groupId}`) as [number, string, string, unknown];
      return { index, taskId, state, result };
    });
  }

  close(): Promise<void> {
    return this.kv.close();
  }
}

function toInt(bytes: Uint8Array | null): number {
  return bytes ? Number.parseInt(new TextDecoder().decode(bytes), 10) || 0 : 0;
}

function raceDeadline<T>(promise: Promise<T>, deadline: number, signal: AbortSignal | undefined, timeout: () => Error): Promise<T> {
  if (deadline === Infinity && !signal) return promise;
  return new Promise<T>((resolve, reject) => {
    // A long timer: get({ timeout: 30 days }) must wait 30 days, not reject at once.
    const timer = deadline === Infinity ? undefined : setLongTimeout(() => reject(timeout()), deadline - Date.now());
    const onAbort = () => reject(signal?.reason ?? timeout());
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      timer?.cancel();
      signal?.removeEventListener('abort', onAbort);
    });
  });
}
