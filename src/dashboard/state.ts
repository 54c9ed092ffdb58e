// The cluster as a monitor sees it (Celery's celery.events.state.State, what Flower keeps): workers by hostname with
// their heartbeats, tasks by uuid with the fields their events carried, bounded (max_tasks_in_memory). Pure: events
// go in, snapshots come out; no I/O, no timers (the caller passes the time).

import type { EventFields } from '../protocol/events.js';
import { PENDING, precedence, RETRY } from '../states.js';

/** Task event subject → the state it means (Celery's TASK_EVENT_TO_STATE); others become their upper-cased name. */
const EVENT_TO_STATE: Readonly<Record<string, string>> = {
  sent: 'PENDING', received: 'RECEIVED', started: 'STARTED', failed: 'FAILURE', retried: 'RETRY',
  succeeded: 'SUCCESS', revoked: 'REVOKED', rejected: 'REJECTED',
};

/** Fields an event that logically happened before the current state may still set (Celery's merge_rules). */
const RECEIVED_KEEPS = new Set(['name', 'args', 'kwargs', 'parent_id', 'root_id', 'retries', 'eta', 'expires']);

/** The task fields a monitor reports, in Celery's Task._fields order (Flower's /api/task/info shape). */
export const TASK_FIELDS = [
  'uuid', 'name', 'state', 'received', 'sent', 'started', 'rejected', 'succeeded', 'failed', 'retried', 'revoked',
  'args', 'kwargs', 'eta', 'expires', 'retries', 'worker', 'result', 'exception', 'timestamp', 'runtime', 'traceback',
  'exchange', 'routing_key', 'clock', 'client', 'root', 'root_id', 'parent', 'parent_id', 'children',
] as const;

/** Fields stored from events (the rest of TASK_FIELDS is derived: worker, client, root, parent, children). */
const STORED = new Set<string>(TASK_FIELDS.filter((f) => !['uuid', 'worker', 'client', 'root', 'parent', 'children'].includes(f)));

/** Heartbeats older than freq × 2 mean the worker is gone (Celery's HEARTBEAT_EXPIRE_WINDOW of 200 %). */
const EXPIRE_WINDOW = 2;
/** Celery keeps the last four heartbeats of a worker. */
const HEARTBEATS_KEPT = 4;

/** One worker as its worker-* events describe it (Celery's events.state.Worker). */
export interface WorkerState {
  hostname: string;
  pid: number | null;
  /** Heartbeat interval, seconds. */
  freq: number;
  /** Receive times (epoch seconds) of the last heartbeats, oldest first; empty once offline. */
  heartbeats: number[];
  clock: number;
  active: number | null;
  processed: number | null;
  loadavg: number[] | null;
  sw_ident: string | null;
  sw_ver: string | null;
  sw_sys: string | null;
}

/** One task as its task-* events describe it (Celery's events.state.Task), fields as TASK_FIELDS names them. */
export interface TaskState {
  uuid: string;
  name: string | null;
  state: string;
  /** Hostname of the worker that sent its task-* events (a worker event), null before one did. */
  worker: string | null;
  /** Hostname of the client that sent task-sent. */
  client: string | null;
  children: Set<string>;
  [field: string]: unknown;
}

/** Bounds of ClusterState (Celery's max_tasks_in_memory / max_workers_in_memory; Flower's --max_tasks / --max_workers). */
export interface ClusterStateOptions {
  /** Tasks kept; the least recently updated go first. Default 10000. */
  maxTasks?: number;
  /** Workers kept. Default 5000. */
  maxWorkers?: number;
}

/** Whether `worker` is online at `now` (epoch seconds): a heartbeat within freq × 2 (Celery's Worker.alive). */
export function isAlive(worker: WorkerState, now: number): boolean {
  const last = worker.heartbeats[worker.heartbeats.length - 1];
  return last !== undefined && now < last + worker.freq * EXPIRE_WINDOW;
}

/**
 * Celery's events.State: feed it every event (`event(e)`), read workers and tasks. Maps keep insertion order, so
 * re-inserting on update makes the first entry the least recently updated one, dropped past the bound.
 */
export class ClusterState {
  readonly workers = new Map<string, WorkerState>();
  readonly tasks = new Map<string, TaskState>();
  /** Events seen, by worker hostname then event type (Flower's counter: processed/failed/retried … per worker). */
  readonly counter = new Map<string, Map<string, number>>();
  eventCount = 0;
  private readonly maxTasks: number;
  private readonly maxWorkers: number;
  /** Children whose parent has not been seen yet, by parent id. */
  private readonly orphans = new Map<string, Set<string>>();

  constructor(options: ClusterStateOptions = {}) {
    this.maxTasks = Math.max(1, options.maxTasks ?? 10_000);
    this.maxWorkers = Math.max(1, options.maxWorkers ?? 5_000);
  }

  /** Apply one event; `localReceived` (epoch seconds) is when it arrived here (Celery's local_received). */
  event(event: EventFields, localReceived = Date.now() / 1000): void {
    if (typeof event.type !== 'string' || typeof event.hostname !== 'string') return;
    this.eventCount += 1;
    const byType = this.counter.get(event.hostname) ?? new Map<string, number>();
    byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
    this.counter.set(event.hostname, byType);
    const dash = event.type.indexOf('-');
    const group = event.type.slice(0, dash);
    const subject = event.type.slice(dash + 1);
    if (group === 'worker') this.workerEvent(subject, event, localReceived);
    else if (group === 'task' && typeof event.uuid === 'string') this.taskEvent(subject, event, localReceived);
  }

  /** Tasks, newest first by their last event's timestamp (Celery's tasks_by_time). */
  tasksByTime(): TaskState[] {
    return [...this.tasks.values()].sort((a, b) => num(b.timestamp) - num(a.timestamp) || num(b.clock) - num(a.clock));
  }

  /** The task names seen (Flower's /api/task/types). */
  taskTypes(): string[] {
    const names = new Set<string>();
    for (const t of this.tasks.values()) if (t.name) names.add(t.name);
    return [...names].sort();
  }

  private workerEvent(subject: string, event: EventFields, localReceived: number): void {
    const offline = subject === 'offline';
    const worker = this.workers.get(event.hostname) ?? newWorker(event.hostname);
    for (const key of ['pid', 'freq', 'clock', 'active', 'processed', 'loadavg', 'sw_ident', 'sw_ver', 'sw_sys'] as const) {
      if (key in event) (worker as unknown as Record<string, unknown>)[key] = event[key];
    }
    if (offline) worker.heartbeats = [];
    else heartbeat(worker, localReceived);
    this.workers.delete(worker.hostname);
    this.workers.set(worker.hostname, worker);
    if (this.workers.size > this.maxWorkers) this.workers.delete(this.workers.keys().next().value!);
  }

  private taskEvent(subject: string, event: EventFields, localReceived: number): void {
    const uuid = event.uuid as string;
    let task = this.tasks.get(uuid);
    if (!task) task = { uuid, name: null, state: PENDING, worker: null, client: null, children: this.orphans.get(uuid) ?? new Set() };
    this.orphans.delete(uuid);
    if (subject === 'sent') task.client = event.hostname;
    else {
      task.worker = event.hostname;
      const worker = this.workers.get(event.hostname);
      // Any event from a worker proves it is there (Celery counts it as a heartbeat).
      if (worker) heartbeat(worker, localReceived);
      else this.workerEvent('task', { ...event, type: 'worker-task' }, localReceived);
    }
    const known = EVENT_TO_STATE[subject];
    const state = known ?? subject.toUpperCase();
    if (known) task[subject] = event.timestamp;
    let fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(event)) if (STORED.has(k)) fields[k] = v;
    if (state !== RETRY && task.state !== RETRY && precedence(state) > precedence(task.state)) {
      // This event happened before the state already known (events can arrive out of order): keep only what it adds.
      if (state === 'RECEIVED') fields = Object.fromEntries(Object.entries(fields).filter(([k]) => RECEIVED_KEEPS.has(k)));
      delete fields.state;
      delete fields.timestamp;
    } else {
      fields.state = state;
      fields.timestamp = event.timestamp;
    }
    Object.assign(task, fields);
    this.tasks.delete(uuid);
    this.tasks.set(uuid, task);
    const parentId = task.parent_id;
    if (typeof parentId === 'string' && parentId !== uuid) {
      const parent = this.tasks.get(parentId);
      if (parent) parent.children.add(uuid);
      else if (this.orphans.size < this.maxTasks) this.orphans.set(parentId, (this.orphans.get(parentId) ?? new Set()).add(uuid));
    }
    while (this.tasks.size > this.maxTasks) this.tasks.delete(this.tasks.keys().next().value!);
  }
}

/**
 * A task as Flower's API shows it (Celery's Task.as_dict): every TASK_FIELDS key, null when unknown; `worker` the
 * hostname; `root`/`parent` the ids; `children` the ids of the children seen.
 */
export function taskAsDict(task: TaskState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of TASK_FIELDS) {
    if (field === 'children') out.children = [...task.children];
    else if (field === 'root') out.root = task.root_id ?? null;
    else if (field === 'parent') out.parent = task.parent_id ?? null;
    else out[field] = task[field] ?? (field === 'clock' ? 0 : null);
  }
  return out;
}

function newWorker(hostname: string): WorkerState {
  return { hostname, pid: null, freq: 60, heartbeats: [], clock: 0, active: null, processed: null, loadavg: null, sw_ident: null, sw_ver: null, sw_sys: null };
}

function heartbeat(worker: WorkerState, at: number): void {
  worker.heartbeats.push(at);
  worker.heartbeats.sort((a, b) => a - b);
  if (worker.heartbeats.length > HEARTBEATS_KEPT) worker.heartbeats.shift();
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}
