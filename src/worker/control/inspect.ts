// The read-only remote-control commands (Celery's @inspect_command): each returns what Python's worker returns,
// in the same shape. They change nothing, except memsample, which records a sample as Celery's does.

import { taskOptionToCamel } from '../../config/settings.js';
import { parseWireTime } from '../../utils/wire-time.js';
import { bugreport, humanbytes, queueInfo, scheduledEntry, trackedInfo, workerStats } from './info.js';
import type { ControlHost } from './host.js';
import type { CommandTable } from './command.js';

/** Celery's DEFAULT_TASK_INFO_ITEMS: what `registered` shows beside each name when set. */
const DEFAULT_TASK_INFO_ITEMS = ['exchange', 'routing_key', 'rate_limit'];
/** memsample keeps at most this many samples for memdump (Celery keeps every one until the next memdump). */
const MAX_MEM_SAMPLES = 1000;

const truthy = (v: unknown) => v === true || v === 'true' || v === 'True' || v === '1' || v === 1;

/** The inspect commands, by wire name. `memSamples` is memsample's buffer, one per worker. */
export function inspectCommands(memSamples: string[] = []): CommandTable {
  return {
    ping: { type: 'inspect', run: () => ({ ok: 'pong' }) },
    stats: { type: 'inspect', run: (host) => workerStats(host) },
    clock: { type: 'inspect', run: (host) => ({ clock: host.clock.value }) },
    report: { type: 'inspect', run: (host) => ({ ok: bugreport(host) }) },
    conf: { type: 'inspect', alias: 'dump_conf', run: (host, args) => host.configTable(truthy(args.with_defaults)) },
    active: {
      type: 'inspect', alias: 'dump_active',
      run: (host, args) => [...host.state.active.values()].map((r) => trackedInfo(host, r, truthy(args.safe))),
    },
    reserved: {
      type: 'inspect', alias: 'dump_reserved',
      // Waiting for a slot or a rate-limit token; ETA tasks are `scheduled`, as in Celery.
      run: (host, args) => [...host.state.reserved.values()].filter((r) => !isWaitingForEta(r.message.eta)).map((r) => trackedInfo(host, r, truthy(args.safe))),
    },
    scheduled: {
      type: 'inspect', alias: 'dump_schedule',
      run: (host, args) => {
        const safe = truthy(args.safe);
        const held = [...host.state.reserved.values()].filter((r) => isWaitingForEta(r.message.eta)).map((r) => scheduledEntry(host, r, safe));
        // Parked at the broker until due, still this worker's scheduled tasks until they come back.
        const now = Date.now();
        const parked = [...host.state.parked.values()].filter((p) => p.eta > now).map((p) => scheduledEntry(host, p, safe));
        return [...held, ...parked];
      },
    },
    revoked: { type: 'inspect', alias: 'dump_revoked', run: (host) => host.state.revokedIds() },
    registered: {
      type: 'inspect', alias: 'dump_tasks',
      run: (host, args) => {
        const items = Array.isArray(args.taskinfoitems) && args.taskinfoitems.length ? args.taskinfoitems.map(String) : DEFAULT_TASK_INFO_ITEMS;
        const names = host.taskNames().filter((n) => truthy(args.builtins) || !n.startsWith('celery.')).sort();
        return names.map((name) => registeredLine(host, name, items));
      },
    },
    query_task: {
      type: 'inspect',
      run: (host, args) => {
        const ids = Array.isArray(args.ids) ? args.ids.map(String) : typeof args.ids === 'string' ? [args.ids] : [];
        const out: Record<string, unknown> = {};
        for (const id of ids) {
          const active = host.state.active.get(id);
          const reserved = host.state.reserved.get(id);
          if (active) out[id] = ['active', trackedInfo(host, active)];
          else if (reserved && !isWaitingForEta(reserved.message.eta)) out[id] = ['reserved', trackedInfo(host, reserved)];
        }
        return out;
      },
    },
    active_queues: { type: 'inspect', run: (host) => host.queues().map(queueInfo) },
    memsample: {
      type: 'inspect',
      run: () => {
        const sample = humanbytes(process.memoryUsage().rss);
        memSamples.push(sample);
        if (memSamples.length > MAX_MEM_SAMPLES) memSamples.shift();
        return sample;
      },
    },
    memdump: {
      type: 'inspect',
      run: (_host, args) => {
        const n = typeof args.samples === 'number' && args.samples > 0 ? Math.floor(args.samples) : 10;
        const taken = memSamples.splice(0);
        const step = Math.max(1, Math.floor(taken.length / n));
        const picked = taken.filter((_, i) => i % step === 0).slice(0, n);
        const lines = picked.length ? ['- rss (sample):', ...picked.map((m) => `-    > ${m},`)] : [];
        lines.push(`- rss (end): ${humanbytes(process.memoryUsage().rss)}.`);
        return `${lines.join('\n')}\n`;
      },
    },
    objgraph: {
      type: 'inspect',
      run: () => ({ error: 'objgraph is not supported in Node: it graphs Python objects. Take a heap snapshot instead (node --inspect, or v8.writeHeapSnapshot()).' }),
    },
  };
}

/** An ETA still in the future (a garbage ETA counts as none: the worker fails that task instead of holding it). */
function isWaitingForEta(eta: string | null): boolean {
  if (!eta) return false;
  const at = parseWireTime(eta, 'eta');
  return !(at instanceof Error) && at.epochMs > Date.now();
}

/** `name [rate_limit=10/m]`: the requested task attributes that are set, as Celery prints them. */
function registeredLine(host: ControlHost, name: string, items: readonly string[]): string {
  const task = host.task(name);
  const fields: string[] = [];
  for (const item of items) {
    const value = item === 'rate_limit' ? host.rateLimitOf(name) : task?.options[taskOptionToCamel(item)];
    if (value !== undefined && value !== null) fields.push(`${item}=${pyStr(value)}`);
  }
  return fields.length ? `${name} [${fields.join(' ')}]` : name;
}

/** Python's str() of an option value. */
function pyStr(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
