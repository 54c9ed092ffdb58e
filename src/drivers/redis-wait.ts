// Redis WAIT after a confirmed write (transport options wait_replicas, wait_timeout): Redis replicates
// asynchronously, so a write a master confirmed may die with it before a replica has it; waiting until N replicas
// acknowledged it closes that window for a failover (Sentinel or Cluster) at the cost of one round trip per write.

import type { Redis } from 'ioredis';
import { ImproperlyConfigured } from '../errors.js';

/** How many replicas must acknowledge a write (Redis WAIT numreplicas) and for how long to wait (ms). */
export interface ReplicaWait {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/**
 * wait_replicas (count, default 0 = do not wait) and wait_timeout (seconds, default 1) from broker_transport_options
 * or result_backend_transport_options; null when not waiting. Throws ImproperlyConfigured naming `setting`.
 */
export function replicaWait(options: Readonly<Record<string, unknown>>, setting: string): ReplicaWait | null {
  const replicas = Number(options.wait_replicas ?? 0);
  const seconds = Number(options.wait_timeout ?? 1);
  if (!Number.isInteger(replicas) || replicas < 0 || !(seconds > 0)) {
    throw new ImproperlyConfigured(`${setting}.wait_replicas must be a whole number ≥ 0 and wait_timeout a number of seconds > 0; got ${JSON.stringify(options.wait_replicas)} and ${JSON.stringify(options.wait_timeout)}.`, { context: { setting } });
  }
  return replicas === 0 ? null : { replicas, timeoutMs: Math.ceil(seconds * 1000) };
}

/**
 * After a write to `key` on `client`: WAIT, on the connection of the node holding `key` (a cluster sends the
 * pipeline there), until `wait.replicas` replicas have every write made on it so far, or `wait.timeoutMs` passed.
 * Resolves with how many replicas acknowledged; too few is not an error (the write stands on the master, as without
 * waiting). Rejects only with the driver's error.
 */
export async function waitForReplicas(client: Redis, key: string, wait: ReplicaWait): Promise<number> {
  const replies = (await client.pipeline().exists(key).wait(wait.replicas, wait.timeoutMs).exec()) ?? [];
  for (const [error] of replies) if (error) throw error;
  return Number(replies[1]?.[1] ?? 0);
}
