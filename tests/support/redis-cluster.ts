// A private Redis Cluster for tests: six `redis-server --cluster-enabled yes` on free loopback ports (client and bus
// port both chosen free), joined by `redis-cli --cluster create … --cluster-replicas 1`: three masters, each with a
// replica. A node timeout of 1 s keeps failovers short. Started per test file (a failover test changes the cluster).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, ServerSetupError, startRedis, type RedisServer } from './servers.js';

const run = promisify(execFile);

/** A running cluster: its nodes (index = start order) and a redis+cluster:// URL naming all of them. */
export interface RedisCluster {
  readonly url: string;
  readonly nodes: readonly RedisServer[];
  /** `redis-cli -p <port> <args…>` on one node; resolves with its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** The port of the master serving `key`'s slot right now. */
  masterOf(key: string): Promise<number>;
  /** Resolves once every live node reports cluster_state:ok with all 16384 slots served. */
  healthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start six nodes and create the cluster (with `password`: every node requires it, replicas too); stops whatever started when anything fails. */
export async function startRedisCluster(options: { password?: string } = {}): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const auth = options.password ? ['-a', options.password, '--no-auth-warning'] : [];
  const cli = async (port: number, ...args: string[]) => (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, ...args], { timeout: 60_000 })).stdout;
  const stop = async () => void (await Promise.allSettled(nodes.map((n) => n.stop())));
  try {
    await Promise.all(Array.from({ length: 6 }, async () => {
      const bus = await freePort();
      const masterauth = options.password ? ['--masterauth', options.password] : [];
      nodes.push(await startRedis({ password: options.password, args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000', '--cluster-port', String(bus), ...masterauth] }));
    }));
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', [...auth, '--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
    const healthy = async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(nodes.map((n) => cli(n.port, 'cluster', 'info').catch(() => 'unreachable')));
        const live = states.filter((s) => s !== 'unreachable');
        if (live.length > 0 && live.every((s) => /cluster_state:ok/.test(s) && /cluster_slots_ok:16384/.test(s))) return;
        if (Date.now() > deadline) throw new ServerSetupError(`The Redis Cluster did not become healthy within ${timeoutMs} ms:\n${live[0] ?? 'no node answers'}`);
        await sleep(100);
      }
    };
    await healthy();
    const masterOf = async (key: string) => {
      let slot = NaN;
      for (const n of nodes) if (Number.isNaN(slot)) slot = Number((await cli(n.port, 'cluster', 'keyslot', key).catch(() => '')).trim() || NaN);
      for (const n of nodes) {
        const shards = await cli(n.port, 'cluster', 'slots').catch(() => '');
        if (!shards) continue;
        // One line per field: start, end, master ip, master port, master id, replica ip …
        const lines = shards.trim().split('\n').map((l) => l.trim());
        for (let i = 0; i + 3 < lines.length; i++) {
          const [start, end, ip, port] = lines.slice(i, i + 4);
          if (/^\d+$/.test(start!) && /^\d+$/.test(end!) && ip === '127.0.0.1' && /^\d+$/.test(port!) && slot >= Number(start) && slot <= Number(end)) return Number(port);
        }
      }
      throw new ServerSetupError(`No master of slot ${slot} found`);
    };
    const credentials = options.password ? `:${encodeURIComponent(options.password)}@` : '';
    return { url: `redis+cluster://${credentials}${addresses.join(',')}`, nodes, cli, masterOf, healthy, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
