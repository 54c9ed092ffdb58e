// Remote-control commands about the worker itself (Celery's enable_events, disable_events, heartbeat, election,
// hello, shutdown, pool_grow, pool_shrink, pool_restart, autoscale, add_consumer, cancel_consumer): same
// arguments and replies as Python's worker, or a clear error where the Node pool cannot do it.

import { UsageError } from '../../errors.js';
import { NO_REPLY, type CommandTable } from './command.js';
import type { ControlHost } from './host.js';

const ok = (value: string) => ({ ok: value });
const nok = (value: string) => ({ error: value });

/** Revoked ids a worker accepts from one `hello` (Celery's REVOKES_MAX). */
const MAX_HELLO_REVOKED = 50_000;

/** Python's time.monotonic() on this machine (CLOCK_MONOTONIC, seconds): the clock of mingle's revoked stamps. */
function monotonicSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Celery's strtobool-ish reading of a flag that may come from a CLI as text. */
const truthy = (v: unknown) => v === true || v === 'true' || v === 'True' || v === '1' || v === 1;

function count(v: unknown): number {
  const n = v === undefined || v === null ? 1 : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`n must be a whole number ≥ 1, got ${String(v)}.`);
  return n;
}

/**
 * mingle's hello: merge the sender's revoked ids (id → monotonic seconds, or [seconds, id]) and answer with ours
 * and our clock, so a Python worker starting beside this one learns what was revoked. Our own hello gets None.
 */
function hello(host: ControlHost, args: Record<string, unknown>): unknown {
  if (args.from_node === host.hostname) return null;
  host.logger.info(`sync with ${String(args.from_node)}`);
  const nowMono = monotonicSeconds();
  const now = Date.now();
  const theirs = args.revoked && typeof args.revoked === 'object' ? Object.entries(args.revoked as Record<string, unknown>).slice(0, MAX_HELLO_REVOKED) : [];
  for (const [id, entry] of theirs) {
    const at = Array.isArray(entry) ? entry[0] : entry;
    if (typeof at === 'number' && Number.isFinite(at)) host.state.revoke(id, now - Math.max(0, nowMono - at) * 1000);
  }
  const revoked: Record<string, [number, string]> = {};
  for (const id of host.state.revokedIds()) {
    const mono = nowMono - (now - host.state.revoked.get(id)!) / 1000;
    // Python's LimitedSet.update insists on a float: never send a whole number.
    revoked[id] = [Number.isInteger(mono) ? mono + 1e-6 : mono, id];
  }
  return { revoked, clock: host.clock.forward() };
}

/** The worker commands, by wire name. */
export function runtimeCommands(): CommandTable {
  return {
    enable_events: {
      type: 'control',
      run: (host) => {
        if (!host.events) return nok('events need a broker that can broadcast (fanout); this one cannot.');
        if (!host.events.enableTaskEvents()) return ok('task events already enabled');
        host.logger.info('Events of group {task} enabled by remote.');
        return ok('task events enabled');
      },
    },
    disable_events: {
      type: 'control',
      run: (host) => {
        if (!host.events?.disableTaskEvents()) return ok('task events already disabled');
        host.logger.info('Events of group {task} disabled by remote.');
        return ok('task events disabled');
      },
    },
    heartbeat: {
      type: 'control',
      run: async (host) => {
        host.logger.debug('Heartbeat requested by remote.');
        await host.events?.heartbeatNow();
        return null;
      },
    },
    // Celery's gossip elections; celeriac workers run no gossip, which Python answers with None too.
    election: { type: 'control', run: () => null },
    hello: { type: 'inspect', run: (host, args) => hello(host, args) },
    shutdown: {
      type: 'control',
      run: (host, args) => {
        host.logger.warn(typeof args.msg === 'string' ? args.msg : 'Got shutdown from remote');
        host.shutdown();
        return NO_REPLY;
      },
    },
    pool_grow: {
      type: 'control',
      run: (host, args) => {
        if (host.autoscaleLimits) return nok('pool_grow is not supported with autoscale. Adjust autoscale range instead.');
        host.resizePool(count(args.n));
        return ok('pool will grow');
      },
    },
    pool_shrink: {
      type: 'control',
      run: (host, args) => {
        if (host.autoscaleLimits) return nok('pool_shrink is not supported with autoscale. Adjust autoscale range instead.');
        host.resizePool(-count(args.n));
        return ok('pool will shrink');
      },
    },
    pool_restart: {
      type: 'control',
      run: async (host, args) => {
        if (!host.setting('worker_pool_restarts')) throw new UsageError('Pool restarts not enabled: set worker_pool_restarts = true on the worker.');
        if (truthy(args.reload) || (Array.isArray(args.modules) && args.modules.length)) {
          host.logger.info('pool_restart: modules are not reloaded one by one in Node; new pool children import the app module afresh.');
        }
        await host.restartPool();
        return ok('reload started');
      },
    },
    autoscale: {
      type: 'control',
      run: (host, args) => {
        if (!host.autoscaleLimits) throw new UsageError('Autoscale not enabled: start the worker with --autoscale max,min.');
        const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
        const { max, min } = host.autoscale(num(args.max), num(args.min));
        return ok(`autoscale now max=${max} min=${min}`);
      },
    },
    add_consumer: {
      type: 'control',
      run: async (host, args) => {
        const queue = String(args.queue ?? '');
        if (!queue) return nok('add_consumer needs a queue name.');
        const exchange = typeof args.exchange === 'string' && args.exchange ? args.exchange : queue;
        const routingKey = typeof args.routing_key === 'string' && args.routing_key ? args.routing_key : queue;
        const exchangeType = typeof args.exchange_type === 'string' && args.exchange_type ? args.exchange_type : 'direct';
        if (!['direct', 'topic', 'fanout'].includes(exchangeType)) return nok(`Exchange type '${exchangeType}' is not supported; use direct, topic or fanout.`);
        if (!host.queues().some((q) => q.name === queue)) {
          await host.addConsumer({ name: queue, exchange, exchangeType, routingKey, durable: true, autoDelete: false, maxPriority: null });
          host.logger.info(`Started consuming from ${queue}`);
        }
        return ok(`add consumer ${queue}`);
      },
    },
    cancel_consumer: {
      type: 'control',
      run: async (host, args) => {
        const queue = String(args.queue ?? '');
        if (await host.cancelConsumer(queue)) host.logger.info(`Canceled consuming from ${queue}`);
        return ok(`no longer consuming from ${queue}`);
      },
    },
  };
}
