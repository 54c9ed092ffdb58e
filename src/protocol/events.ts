// Task and worker event payloads as Celery 5 publishes them (REDIS-WIRE.md §12, AMQP-WIRE.md §8): what Flower,
// `celery events` and celery.events.state.State read. Pure data; publishing is events/dispatcher.ts.

import { loadavg } from 'node:os';

/** Celery's default event_exchange (topic, durable). */
export const EVENT_EXCHANGE = 'celeryev';

/** Routing key of an event: its type with '-' replaced by '.' (worker-heartbeat → worker.heartbeat). */
export const eventRoutingKey = (type: string): string => type.replace(/-/g, '.');

/** The fields every event carries (plus its own, e.g. uuid and name for task events). */
export interface EventFields {
  type: string;
  hostname: string;
  /** Epoch seconds (float). */
  timestamp: number;
  /** Hours WEST of UTC, as Celery's utcoffset(): -9 in Tokyo, 5 in New York (winter). */
  utcoffset: number;
  pid: number;
  /** The sender's Lamport clock. */
  clock: number;
  [field: string]: unknown;
}

/**
 * The machine's offset as Celery computes it (celery.utils.time.utcoffset): Python's time.timezone (or altzone in
 * daylight saving) floor-divided by 3600, i.e. whole hours WEST of UTC. JavaScript's getTimezoneOffset() is
 * minutes west too, so no sign change: Tokyo (UTC+9) gives -9, India (UTC+5:30) gives -6, New York (UTC-5) 5.
 * Monitors subtract it (with their own) to line up timestamps, so the sign must be Celery's.
 */
export function utcOffsetHours(date = new Date()): number {
  return Math.floor(date.getTimezoneOffset() / 60);
}

/** One event: the common fields in Celery's order (hostname, utcoffset, pid, clock, own fields, timestamp, type). */
export function buildEvent(type: string, hostname: string, clock: number, fields: Record<string, unknown> = {}): EventFields {
  return { hostname, utcoffset: utcOffsetHours(), pid: process.pid, clock, ...fields, timestamp: Date.now() / 1000, type };
}

/** The fields of a task-sent event (task_send_sent_event), as Celery's client sends them. */
export function taskSentFields(m: {
  id: string; task: string; rootId: string | null; parentId: string | null; argsrepr: string; kwargsrepr: string;
  retries: number; eta: string | null; expires: string | null;
}, route: { queue: string; exchange: string; routingKey: string }): Record<string, unknown> {
  return {
    uuid: m.id, root_id: m.rootId, parent_id: m.parentId, name: m.task, args: m.argsrepr, kwargs: m.kwargsrepr,
    retries: m.retries, eta: m.eta, expires: m.expires, queue: route.queue, exchange: route.exchange, routing_key: route.routingKey,
  };
}

/** What celeriac reports as its software (Celery's SOFTWARE_INFO: sw_ident, sw_ver, sw_sys). */
export function softwareInfo(version: string): { sw_ident: string; sw_ver: string; sw_sys: string } {
  return { sw_ident: 'celeriac', sw_ver: version, sw_sys: platformSystem() };
}

/** worker-online / worker-heartbeat / worker-offline fields, exactly Celery's: freq (s), active, processed, loadavg, sw_*. */
export function workerEventFields(active: number, processed: number, freq: number, version: string): Record<string, unknown> {
  return {
    freq,
    active,
    processed,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    ...softwareInfo(version),
  };
}

/** Python's platform.system(): 'Linux', 'Darwin', 'Windows', else the OS name as Node reports it. */
function platformSystem(): string {
  switch (process.platform) {
    case 'linux':
      return 'Linux';
    case 'darwin':
      return 'Darwin';
    case 'win32':
      return 'Windows';
    default:
      return process.platform;
  }
}
