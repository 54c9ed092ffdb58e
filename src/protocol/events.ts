// Task and worker event payloads as Celery 5 publishes them (REDIS-WIRE.md §12): what Flower and
// `celery events` read. Pure data; publishing is events/dispatcher.ts.

import { cpus, loadavg } from 'node:os';

/** The topic exchange events are published to (Celery's event_exchange default). */
export const EVENT_EXCHANGE = 'celeryev';

/** Routing key of an event: its type with '-' replaced by '.' (worker-heartbeat → worker.heartbeat). */
export const eventRoutingKey = (type: string): string => type.replace(/-/g, '.');

/**
 * One event's body as Flower reads it: type (task-succeeded …), hostname, timestamp (epoch s), utcoffset (h),
 * pid, clock (Lamport) and the type's own fields.
 */
export interface EventFields {
  type: string;
  hostname: string;
  timestamp: number;
  utcoffset: number;
  pid: number;
  clock: number;
  [field: string]: unknown;
}

/** Hours east of UTC, as Python's time.timezone-based utcoffset (0 on UTC machines). */
export function utcOffsetHours(date = new Date()): number {
  return Math.round(-date.getTimezoneOffset() / 60);
}

/** An event body of `type` with Celery's common fields filled in (timestamp now, utcoffset, pid). */
export function buildEvent(type: string, hostname: string, clock: number, fields: Record<string, unknown> = {}): EventFields {
  return { hostname, utcoffset: utcOffsetHours(), pid: process.pid, clock, ...fields, timestamp: Date.now() / 1000, type };
}

/** worker-online / worker-heartbeat / worker-offline fields. */
export function workerEventFields(active: number, processed: number, freq: number, version: string): Record<string, unknown> {
  return {
    freq,
    active,
    processed,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    sw_ident: 'celeriac',
    sw_ver: version,
    sw_sys: process.platform === 'linux' ? 'Linux' : process.platform,
    cpus: cpus().length,
  };
}
