// The benchmark's own redis-server: loopback, a free port, no persistence, stopped by its PID on exit.
// Also the harness's side connection for flushing, snapshots and counting results (never on a measured path).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export interface RedisServer {
  readonly port: number;
  /** redis-server's process id (for its CPU time). */
  readonly pid: number;
  readonly url: string;
  readonly version: string;
  /** A client per database, for the harness only. */
  db(n: number): Redis;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-bench-redis-'));
  const proc: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const clients = new Map<number, Redis>();
  const db = (n: number) => {
    let c = clients.get(n);
    if (!c) {
      c = new Redis({ host: '127.0.0.1', port, db: n, lazyConnect: false, maxRetriesPerRequest: 1 });
      clients.set(n, c);
    }
    return c;
  };
  const stop = async () => {
    await Promise.all([...clients.values()].map((c) => c.quit().catch(() => undefined)));
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try {
      const info = await db(0).info('server');
      const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
      return { port, pid: proc.pid!, url: `redis://127.0.0.1:${port}`, version, db, stop };
    } catch (error) {
      if (i >= 50 || proc.exitCode !== null) {
        await stop();
        throw new Error(`redis-server did not answer on 127.0.0.1:${port}: ${(error as Error).message}. Is redis-server installed (apt-get install redis-server)?`);
      }
      await sleep(100);
    }
  }
}

/** Every key of one database, as DUMP payloads, so the same queue can be put back before each drain. */
export interface Snapshot { keys: string[]; payloads: Buffer[]; ttls: number[] }

export async function snapshot(redis: Redis): Promise<Snapshot> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  const payloads: Buffer[] = [];
  const ttls: number[] = [];
  for (let i = 0; i < keys.length; i += 1000) {
    const pipe = redis.pipeline();
    for (const key of keys.slice(i, i + 1000)) pipe.dumpBuffer(key).pttl(key);
    const replies = (await pipe.exec()) ?? [];
    for (let j = 0; j < replies.length; j += 2) {
      payloads.push(replies[j][1] as Buffer);
      ttls.push(Math.max(0, replies[j + 1][1] as number));
    }
  }
  return { keys, payloads, ttls };
}

export async function restore(redis: Redis, snap: Snapshot): Promise<void> {
  for (let i = 0; i < snap.keys.length; i += 1000) {
    const pipe = redis.pipeline();
    for (let j = i; j < Math.min(i + 1000, snap.keys.length); j++) pipe.restore(snap.keys[j], snap.ttls[j], snap.payloads[j], 'REPLACE');
    const replies = (await pipe.exec()) ?? [];
    const failed = replies.find(([error]) => error);
    if (failed) throw failed[0];
  }
}
