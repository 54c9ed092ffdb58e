// Schedule entries (Celery's ScheduleEntry) read from `beat_schedule` and checked all at once at start: every
// problem names the entry and the field, so a bad schedule stops beat before it sends anything. No I/O.

import type { ApplyOptions } from '../task/options.js';
import { SchedulingError } from '../errors.js';
import { BaseSchedule, IntervalSchedule, type Duration } from './schedule.js';

/** One `beat_schedule` value (Celery's entry dict): what to send, and when. */
export interface PeriodicTaskSpec {
  /** The task name. It must be registered in the app unless `remote` is set. */
  task: string;
  /** Seconds, a Duration ({ minutes: 5 }), or a schedule: crontab(…), schedule(…), solar(…). */
  schedule: number | Duration | BaseSchedule;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** apply_async options, Celery's names or camelCase: queue, routing_key, exchange, priority, expires, headers… */
  options?: Record<string, unknown>;
  /** Round interval runs to the interval's resolution (Celery's relative). */
  relative?: boolean;
  /** The task is defined by workers elsewhere (another code base, or Python): skip the registry check. */
  remote?: boolean;
}

/** A checked entry, ready to send. */
export interface ScheduleEntry {
  readonly name: string;
  readonly task: string;
  readonly schedule: BaseSchedule;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  /** Send options, camelCase (periodic_task_name is added per send). */
  readonly options: Readonly<ApplyOptions>;
}

// apply_async's keyword arguments (Celery's names) → ApplyOptions; camelCase spellings are accepted as they are.
const OPTION_NAMES: Readonly<Record<string, keyof ApplyOptions>> = {
  queue: 'queue', routing_key: 'routingKey', exchange: 'exchange', priority: 'priority', expires: 'expires',
  countdown: 'countdown', serializer: 'serializer', compression: 'compression', headers: 'headers',
  time_limit: 'timeLimit', soft_time_limit: 'softTimeLimit', ignore_result: 'ignoreResult', shadow: 'shadow',
  retry: 'retry', retry_policy: 'retryPolicy', link: 'link', link_error: 'linkError',
  routingKey: 'routingKey', timeLimit: 'timeLimit', softTimeLimit: 'softTimeLimit', ignoreResult: 'ignoreResult',
  retryPolicy: 'retryPolicy', linkError: 'linkError',
};

const ENTRY_KEYS = new Set(['task', 'schedule', 'args', 'kwargs', 'options', 'relative', 'remote']);

/** What entry checking needs from the app: whether a task name is registered. */
export interface EntryHost {
  isRegistered(name: string): boolean;
}

/**
 * Check every entry of `beat_schedule` and build ScheduleEntries; throws one SchedulingError listing every
 * problem (entry name, field, what to do).
 */
export function loadEntries(beatSchedule: Readonly<Record<string, unknown>>, host: EntryHost): ScheduleEntry[] {
  const problems: string[] = [];
  const entries: ScheduleEntry[] = [];
  for (const [name, raw] of Object.entries(beatSchedule ?? {})) {
    try {
      entries.push(loadEntry(name, raw, host));
    } catch (error) {
      if (!(error instanceof SchedulingError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length) {
    throw new SchedulingError(`beat_schedule has ${problems.length} invalid entr${problems.length === 1 ? 'y' : 'ies'}; beat did not start:\n  ${problems.join('\n  ')}`, { context: { setting: 'beat_schedule' } });
  }
  return entries;
}

function loadEntry(name: string, raw: unknown, host: EntryHost): ScheduleEntry {
  const fail = (field: string, what: string): never => {
    throw new SchedulingError(`Entry '${name}', field ${field}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('(entry)', 'expected an object { task, schedule, args?, kwargs?, options? }.');
  const spec = raw as Record<string, unknown>;
  for (const key of Object.keys(spec)) if (!ENTRY_KEYS.has(key)) fail(key, `unknown field; an entry has ${[...ENTRY_KEYS].join(', ')}.`);
  if (typeof spec.task !== 'string' || !spec.task) fail('task', 'give the task name as a non-empty string.');
  const task = spec.task as string;
  if (!spec.remote && !host.isRegistered(task)) {
    fail('task', `task '${task}' is not registered in this app. Import the module that defines it, fix the name, or set remote: true if workers elsewhere (e.g. Python) define it.`);
  }
  const schedule = spec.schedule instanceof BaseSchedule ? spec.schedule : new IntervalSchedule(spec.schedule as number | Duration, { relative: Boolean(spec.relative) });
  try {
    schedule.validate();
  } catch (error) {
    fail('schedule', (error as Error).message);
  }
  if (spec.args !== undefined && !Array.isArray(spec.args)) fail('args', 'expected a list of positional arguments.');
  if (spec.kwargs !== undefined && (typeof spec.kwargs !== 'object' || spec.kwargs === null || Array.isArray(spec.kwargs))) fail('kwargs', 'expected an object of keyword arguments.');
  const options: Record<string, unknown> = {};
  if (spec.options !== undefined) {
    if (typeof spec.options !== 'object' || spec.options === null || Array.isArray(spec.options)) fail('options', 'expected an object of apply_async options.');
    for (const [key, value] of Object.entries(spec.options as Record<string, unknown>)) {
      const mapped = OPTION_NAMES[key];
      if (!mapped) fail(`options.${key}`, `not a send option; use ${Object.keys(OPTION_NAMES).filter((k) => !/[A-Z]/.test(k)).join(', ')}.`);
      options[mapped!] = value;
    }
  }
  if (options.headers !== undefined && (typeof options.headers !== 'object' || options.headers === null)) fail('options.headers', 'expected an object of message headers.');
  return {
    name,
    task,
    schedule,
    args: (spec.args as unknown[] | undefined) ?? [],
    kwargs: (spec.kwargs as Record<string, unknown> | undefined) ?? {},
    options: options as ApplyOptions,
  };
}
