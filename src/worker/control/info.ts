// The shapes inspect replies carry, field for field as Celery 5's worker builds them (captured from Debian's
// Python worker, see tests/interop/python-tools-shapes.test.ts): a request's info(), a kombu Queue as_dict(),
// the stats pool/broker/rusage blocks and the bug report text. Pure functions of what the host reports.

import { arch, release } from 'node:os';
import { parseUrl } from '../../config/urls.js';
import { humanizeTable } from '../../config/humanize.js';
import type { DeliveryInfo } from '../../transports/transport.js';
import type { TaskMessage } from '../../protocol/task-message.js';
import type { ChildInfo } from '../pool/child-types.js';
import type { Request } from '../request.js';
import type { ParkedRequest } from '../state.js';
import type { ConsumedQueue, ControlHost } from './host.js';

/** Celery's timer priority for ETA requests: every `scheduled` entry carries it. */
const ETA_TIMER_PRIORITY = 6;

/** Celery's Request.info(): with `safe`, args and kwargs are their repr strings. */
export function requestInfo(host: ControlHost, m: TaskMessage, info: DeliveryInfo, priority: unknown, run: { timeStart: number | null; acknowledged: boolean; workerPid: number | null }, safe = false): Record<string, unknown> {
  return {
    id: m.id,
    name: m.task,
    args: safe ? (m.argsrepr ?? null) : m.args,
    kwargs: safe ? (m.kwargsrepr ?? null) : m.kwargs,
    type: m.task,
    hostname: host.hostname,
    time_start: run.timeStart,
    acknowledged: run.acknowledged,
    delivery_info: { exchange: info.exchange, routing_key: info.routing_key, priority: typeof priority === 'number' ? priority : null, redelivered: info.redelivered ?? null },
    worker_pid: run.workerPid,
  };
}

/** info() of a request held in the worker (active or reserved). */
export function trackedInfo(host: ControlHost, r: Request, safe = false): Record<string, unknown> {
  const started = r.startedAt !== undefined;
  return requestInfo(host, r.message, r.delivery.message.deliveryInfo, r.delivery.message.properties.priority, {
    timeStart: started ? r.startedAt! / 1000 : null,
    acknowledged: r.acknowledged,
    workerPid: started ? workerPidOf(host, r.message.id) : null,
  }, safe);
}

/** A `scheduled` entry: `{ eta, priority, request }` for an ETA task held here or parked at the broker. */
export function scheduledEntry(host: ControlHost, r: Request | ParkedRequest, safe = false): Record<string, unknown> {
  const request = 'delivery' in r ? trackedInfo(host, r, safe) : requestInfo(host, r.message, r.deliveryInfo, r.priority ?? r.deliveryInfo.priority, { timeStart: null, acknowledged: false, workerPid: null }, safe);
  return { eta: r.message.eta, priority: ETA_TIMER_PRIORITY, request };
}

/** The pid running a task: the prefork child's, else the worker's own. */
function workerPidOf(host: ControlHost, taskId: string): number {
  const children = host.poolStats()?.children as readonly Partial<ChildInfo>[] | undefined;
  return children?.find((c) => c.taskId === taskId)?.pid ?? process.pid;
}

/** kombu's Queue.as_dict(recurse=True), what Flower's Queues tab reads. */
export function queueInfo(q: ConsumedQueue): Record<string, unknown> {
  const args = { ...q.queueArguments, ...(q.maxPriority !== null ? { 'x-max-priority': q.maxPriority } : {}) };
  const queueArguments = Object.keys(args).length ? args : null;
  return {
    name: q.name,
    exchange: { name: q.exchange, type: q.exchangeType, arguments: null, durable: true, passive: false, auto_delete: false, delivery_mode: null, no_declare: false },
    routing_key: q.routingKey,
    queue_arguments: queueArguments,
    binding_arguments: null,
    consumer_arguments: null,
    durable: q.durable,
    exclusive: false,
    auto_delete: q.autoDelete,
    no_ack: false,
    alias: null,
    bindings: [],
    no_declare: null,
    expires: null,
    message_ttl: null,
    max_length: null,
    max_length_bytes: null,
    max_priority: q.maxPriority,
  };
}

/** `inspect stats`: Celery's keys (total, pid, clock, uptime, pool, broker, prefetch_count, rusage, autoscaler). */
export function workerStats(host: ControlHost): Record<string, unknown> {
  const stats: Record<string, unknown> = {
    total: Object.fromEntries(host.state.total),
    pid: process.pid,
    clock: String(host.clock.value),
    uptime: Math.round((Date.now() - host.state.startedAt) / 1000),
    pool: poolInfo(host),
    broker: brokerInfo(host),
    prefetch_count: host.prefetchCount,
    rusage: rusage(),
  };
  const scale = host.autoscaleLimits;
  if (scale) stats.autoscaler = { max: scale.max, min: scale.min, current: host.poolStats()?.size ?? scale.min, qty: host.poolStats()?.size ?? scale.min };
  return stats;
}

/**
 * The pool block, in the shape of the Python pool it stands for: prefork ↔ prefork, threads ↔ threads,
 * solo ↔ solo, and the async pool (cooperative, one thread) ↔ eventlet/gevent.
 */
function poolInfo(host: ControlHost): Record<string, unknown> {
  const stats = host.poolStats();
  const concurrency = host.concurrency;
  switch (host.poolKind) {
    case 'solo':
      return { 'max-concurrency': 1, processes: [process.pid], 'max-tasks-per-child': null, 'put-guarded-by-semaphore': true, timeouts: [] };
    case 'threads':
      return { 'max-concurrency': concurrency, threads: stats?.size ?? concurrency };
    case 'prefork': {
      const children = (stats?.children ?? []) as readonly Partial<ChildInfo>[];
      const perChild = children.map((c) => c.tasks ?? 0);
      const total = perChild.reduce((a, b) => a + b, 0);
      const share = (v: number) => (v && total ? v / total : 0).toFixed(2);
      const maxTasks = host.setting('worker_max_tasks_per_child');
      return {
        'max-concurrency': concurrency,
        processes: children.map((c) => c.pid).filter((pid): pid is number => typeof pid === 'number'),
        'max-tasks-per-child': typeof maxTasks === 'number' && maxTasks > 0 ? maxTasks : 'N/A',
        'put-guarded-by-semaphore': false,
        timeouts: [numberOr0(host.setting('task_soft_time_limit')), numberOr0(host.setting('task_time_limit'))],
        writes: {
          total,
          avg: share(perChild.length && total ? total / perChild.length : 0),
          all: perChild.map(share).join(', '),
          raw: perChild.join(', '),
          strategy: 'fair',
          inqueues: { total: children.length, active: stats?.active ?? 0 },
        },
      };
    }
    default:
      return { 'max-concurrency': concurrency, 'free-threads': Math.max(0, concurrency - (stats?.active ?? 0)), 'running-threads': stats?.active ?? 0 };
  }
}

function numberOr0(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** kombu's Connection.info() without the password. */
function brokerInfo(host: ControlHost): Record<string, unknown> {
  let url;
  try {
    url = parseUrl(host.brokerUrl);
  } catch {
    return { transport: host.brokerUrl.split(':')[0] ?? 'unknown' };
  }
  const ssl = host.setting('broker_use_ssl');
  const options = host.setting('broker_transport_options') as Record<string, unknown> | undefined;
  // What the AMQP connection uses (?heartbeat=, the transport option, else broker_heartbeat), as Python reports it.
  const heartbeat = Number(url.query.heartbeat ?? options?.heartbeat ?? host.setting('broker_heartbeat') ?? 0);
  const timeout = host.setting('broker_connection_timeout');
  const defaultPort: Record<string, number> = { redis: 6379, amqp: 5672, postgresql: 5432, sentinel: 26379 };
  const virtualHost = url.base === 'amqp' ? (url.path ?? '/') : url.base === 'redis' ? String(url.db ?? 0) : url.path;
  return {
    hostname: url.hostname ?? (url.base === 'sqlite' ? null : 'localhost'),
    userid: url.username,
    virtual_host: virtualHost,
    port: url.port ?? defaultPort[url.base] ?? null,
    insist: false,
    ssl: url.tls || Boolean(ssl),
    transport: url.base,
    connect_timeout: typeof timeout === 'number' ? timeout : 4,
    transport_options: censorOptions(host.setting('broker_transport_options')),
    // amqplib authenticates with SASL PLAIN, as py-amqp does; Redis has no login method.
    login_method: url.base === 'amqp' ? 'PLAIN' : null,
    uri_prefix: null,
    heartbeat: Number.isFinite(heartbeat) ? heartbeat : null,
    failover_strategy: 'round-robin',
    alternates: url.alternates.map((a) => a.redacted),
  };
}

function censorOptions(options: unknown): Record<string, unknown> {
  if (!options || typeof options !== 'object') return {};
  return Object.fromEntries(Object.entries(options as Record<string, unknown>).map(([k, v]) => [k, /pass|secret|token|key/i.test(k) ? '********' : v]));
}

/** getrusage(RUSAGE_SELF) with Python's field names (utime/stime in seconds, maxrss in KiB). */
export function rusage(): Record<string, number> {
  const u = process.resourceUsage();
  return {
    utime: u.userCPUTime / 1e6,
    stime: u.systemCPUTime / 1e6,
    maxrss: u.maxRSS,
    ixrss: u.sharedMemorySize,
    idrss: u.unsharedDataSize,
    isrss: u.unsharedStackSize,
    minflt: u.minorPageFault,
    majflt: u.majorPageFault,
    nswap: u.swappedOut,
    inblock: u.fsRead,
    oublock: u.fsWrite,
    msgsnd: u.ipcSent,
    msgrcv: u.ipcReceived,
    nsignals: u.signalsCount,
    nvcsw: u.voluntaryContextSwitches,
    nivcsw: u.involuntaryContextSwitches,
  };
}

/** Celery's bugreport(): software, platform, loader and settings lines, then the humanized configuration. */
export function bugreport(host: ControlHost): string {
  const transport = host.brokerUrl.split(':')[0];
  const results = host.backendUrl ? redact(host.backendUrl) : 'disabled://';
  return [
    '',
    `software -> celeriac:${host.version} node:${process.versions.node.replace(/^v/, '')} v8:${process.versions.v8}`,
    `platform -> system:${process.platform === 'linux' ? 'Linux' : process.platform} arch:${arch()}`,
    `            kernel version:${release()} imp:Node.js`,
    'loader   -> celeriac',
    `settings -> transport:${transport} results:${results}`,
    '',
    humanizeTable(host.configTable(false)),
    '',
  ].join('\n');
}

function redact(url: string): string {
  try {
    return parseUrl(url).redacted;
  } catch {
    return '<unparsable url>';
  }
}

/** Celery's humanbytes(): 5 significant digits and a unit (45.234MB). */
export function humanbytes(bytes: number): string {
  const units: Array<[number, string]> = [[2 ** 40, 'TB'], [2 ** 30, 'GB'], [2 ** 20, 'MB'], [2 ** 10, 'KB'], [0, 'b']];
  const [div, unit] = units.find(([d]) => bytes >= d)!;
  const value = div ? bytes / div : bytes;
  return `${Number.isInteger(value) ? value : Number(value.toPrecision(5))}${unit}`;
}
