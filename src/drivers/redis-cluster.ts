// Redis Cluster connections (redis+cluster://, rediss+cluster://): the seed node list of a URL and ioredis's Cluster
// client, which follows MOVED/ASK redirections and slot changes after a failover. No key layout here: callers keep
// every key of one command or script in one hash slot (hash tags, transports/redis/cluster-store.ts).

import { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ImproperlyConfigured } from '../errors.js';

/** One seed node of a cluster URL. */
export interface ClusterNode {
  readonly host: string;
  readonly port: number;
}

/** The URL schemes of a Redis Cluster (the TLS one folds to the first in config/urls.ts). */
export const CLUSTER_SCHEMES: readonly string[] = ['redis+cluster', 'rediss+cluster'];

/**
 * The seed nodes of `redis+cluster://[user:password@]host:port[,host:port…][/0][?…]` (port 6379 when left out).
 * Throws ImproperlyConfigured naming `setting` and the redacted URL when a node is malformed or none is given.
 */
export function clusterNodes(url: string, displayUrl: string, setting: string): ClusterNode[] {
  const body = /^[^:]+:\/\/([^/?#]*)/.exec(url.trim())?.[1] ?? '';
  const hosts = body.slice(body.lastIndexOf('@') + 1);
  const nodes = hosts.split(',').map((h) => h.trim()).filter((h) => h !== '').map((h) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h);
    const port = Number(m?.[2] ?? 6379);
    if (!m || !(port >= 1 && port <= 65535)) {
      throw new ImproperlyConfigured(`${setting} ${displayUrl} lists cluster node '${h}', which is not host:port. Write it like redis+cluster://:password@10.0.0.1:7000,10.0.0.2:7000.`, { context: { url: displayUrl, setting } });
    }
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
  if (nodes.length === 0) {
    throw new ImproperlyConfigured(`${setting} ${displayUrl} names no cluster node. Write it like redis+cluster://10.0.0.1:7000,10.0.0.2:7000 (any reachable nodes; the others are discovered).`, { context: { url: displayUrl, setting } });
  }
  return nodes;
}

const NOT_PER_NODE = new Set(['host', 'port', 'path', 'db', 'sentinels', 'name', 'retryStrategy', 'enableOfflineQueue', 'readOnly']);

/** What a connection is for, as drivers/redis.ts ConnectionRole. */
type Role = 'command' | 'blocking' | 'subscriber';

/**
 * A new ioredis Cluster client for one role, connecting lazily. `nodeOptions` are the per-node settings (password,
 * TLS, connect timeout) from the URL. A command that meets a failing master is
 * retried after the slots are refreshed (`retryDelayOnFailover`, `retryDelayOnClusterDown`) and rejected with the
 * driver's error once the node is gone for good, so the caller's recovery (reconnect, redeliver) takes over.
 * Blocking roles get their own client each: a blocking command holds its node's connection. `retryDelay` decides
 * each reconnect of the whole cluster (null gives up: the caller bounds a first connection that never came).
 */
export function openRedisCluster(
  nodes: readonly ClusterNode[],
  nodeOptions: RedisOptions,
  role: Role,
  transportOptions: Readonly<Record<string, unknown>>,
  retryDelay: ClusterOptions['clusterRetryStrategy'] = (times) => Math.min(100 + times * 100, 2_000),
): Cluster {
  // Node addresses come from the cluster itself; a cluster has database 0 only.
  const redisOptions = Object.fromEntries(Object.entries(nodeOptions).filter(([k]) => !NOT_PER_NODE.has(k))) as RedisOptions;
  const retries = transportOptions.max_retries_per_request;
  const options: ClusterOptions = {
    lazyConnect: true,
    // No auto-pipelining: a pipeline that meets a failover hands MOVED replies to its callers instead of following
    // them, and it routes scripts by their key count (ioredis issue 2109). Single commands follow redirections.
    enableAutoPipelining: false,
    scaleReads: 'master',
    maxRedirections: 16,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2_000,
    clusterRetryStrategy: retryDelay,
    redisOptions: {
      ...redisOptions,
      maxRetriesPerRequest: role === 'blocking' ? 2 : retries === null ? null : Number(retries ?? 20),
    },
  };
  return new Cluster(nodes.map((n) => ({ host: n.host, port: n.port })), options);
}
