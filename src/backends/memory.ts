// memory://[name]: results in this process's memory, shared by every app that opens the same name. For tests and
// eager development; pushes writes to waiting clients like Redis pub/sub does.

import { redactUrl } from '../config/urls.js';
import type { BackendFactory, KeyValueStore } from './backend.js';
import { createKeyValueBackend } from './key-value.js';

interface Entry { value: Uint8Array; expiresAt: number }
interface Space { values: Map<string, Entry>; sets: Map<string, Map<string, { score: number; member: Uint8Array }>>; watchers: Map<string, Set<(v: Uint8Array) => void>> }

const spaces = new Map<string, Space>();

/** A KeyValueStore over the shared state of `memory://<name>`. */
export function createMemoryKeyValueStore(name = ''): KeyValueStore {
  let space = spaces.get(name);
  if (!space) spaces.set(name, (space = { values: new Map(), sets: new Map(), watchers: new Map() }));
  const { values, sets, watchers } = space;
  const read = (key: string): Uint8Array | null => {
    const entry = values.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      values.delete(key);
      return null;
    }
    return entry.value;
  };
  const write = (key: string, value: Uint8Array, ttlMs?: number) => {
    values.set(key, { value, expiresAt: ttlMs ? Date.now() + ttlMs : Infinity });
  };
  return {
    async get(key) {
      return read(key);
    },
    async mget(keys) {
      return keys.map(read);
    },
    async set(key, value, ttlMs) {
      write(key, value, ttlMs);
      for (const watcher of [...(watchers.get(key) ?? [])]) setImmediate(() => watcher(value));
    },
    async delete(key) {
      values.delete(key);
      sets.delete(key);
    },
    async incr(key, ttlMs) {
      const next = Number(new TextDecoder().decode(read(key) ?? new Uint8Array())) + 1;
      write(key, new TextEncoder().encode(String(next)), ttlMs);
      return next;
    },
    async zadd(key, score, member) {
      let set = sets.get(key);
      if (!set) sets.set(key, (set = new Map()));
      set.set(Buffer.from(member).toString('base64'), { score, member });
      return set.size;
    },
    async zrange(key) {
      return [...(sets.get(key)?.values() ?? [])].sort((a, b) => a.score - b.score).map((e) => e.member);
    },
    async subscribe(key, onValue) {
      let set = watchers.get(key);
      if (!set) watchers.set(key, (set = new Set()));
      set.add(onValue);
      return async () => {
        set.delete(onValue);
        if (set.size === 0) watchers.delete(key);
      };
    },
    async close() {
      // Shared by name; nothing to release per handle.
    },
  };
}

/** Open an in-process result store shared by every app in this process with the same memory:// URL. */
export const createBackend: BackendFactory = (options) =>
  createKeyValueBackend(createMemoryKeyValueStore(options.url.replace(/^memory:\/\//i, '').replace(/\/+$/, '')), { ...options, displayUrl: redactUrl(options.url) });
