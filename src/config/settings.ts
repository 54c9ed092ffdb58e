// THE table of Celery settings: every name celeriac knows, typed, with default, doc and old upper-case names.
// The rows live in settings/<namespace>.ts; this file joins them and answers "what is this key?". No I/O.

import { BROKER, BROKER_STATUS } from './settings/broker.js';
import { FOREIGN_SETTINGS } from './settings/foreign.js';
import { BEAT, BEAT_STATUS, GENERAL, GENERAL_STATUS, SECURITY, SECURITY_STATUS } from './settings/general.js';
import {
  CACHE, CACHE_STATUS, DATABASE, DATABASE_STATUS, REDIS, REDIS_STATUS, RESULT, RESULT_STATUS,
} from './settings/result.js';
import { nearest, type SettingSpec, type SettingStatus, type StatusOf } from './settings/spec.js';
import {
  TASK_EXECUTION, TASK_EXECUTION_STATUS, TASK_ROUTING, TASK_ROUTING_STATUS, TASK_SENDING, TASK_SENDING_STATUS,
} from './settings/task.js';
import { CONTROL, CONTROL_STATUS, EVENTS, EVENTS_STATUS, WORKER, WORKER_STATUS } from './settings/worker.js';

export { TASK_OPTION_NAMES, taskOptionToCamel, taskOptionsToCamel, toSnake, type TaskOptionName } from './settings/task-options.js';
export type { SettingSpec, SettingStatus, SettingType } from './settings/spec.js';

const TABLE = {
  ...GENERAL, ...TASK_SENDING, ...TASK_EXECUTION, ...TASK_ROUTING, ...RESULT, ...CACHE, ...DATABASE, ...REDIS,
  ...BROKER, ...WORKER, ...EVENTS, ...CONTROL, ...BEAT, ...SECURITY,
};
type Table = typeof TABLE;

const STATUS: StatusOf<Table> = {
  ...GENERAL_STATUS, ...TASK_SENDING_STATUS, ...TASK_EXECUTION_STATUS, ...TASK_ROUTING_STATUS, ...RESULT_STATUS,
  ...CACHE_STATUS, ...DATABASE_STATUS, ...REDIS_STATUS, ...BROKER_STATUS, ...WORKER_STATUS, ...EVENTS_STATUS,
  ...CONTROL_STATUS, ...BEAT_STATUS, ...SECURITY_STATUS,
};

/** A setting name celeriac knows (Celery's snake_case spelling). */
export type SettingName = keyof Table;

type ValueOf<S> = S extends SettingSpec<infer T, string> ? T : never;
type OldOf<S> = S extends SettingSpec<unknown, infer O> ? O : never;

/** Every setting with the type `conf.get(name)` returns: `Settings['task_serializer']` is `string`. */
export type Settings = { -readonly [K in SettingName]: ValueOf<Table[K]> };

/** The old upper-case names with the type of the setting each one sets: `OldSettings['CELERY_TIMEZONE']`. */
export type OldSettings = { -readonly [K in SettingName as OldOf<Table[K]>]: ValueOf<Table[K]> };

/** A row of the table with its name and whether celeriac honours it. */
export type Setting<K extends SettingName = SettingName> = Table[K] & { readonly name: K; readonly status: SettingStatus };

/** THE table, by name (Celery's celery.app.defaults). Deeply frozen; each Config copies the object defaults it reads. */
export const SETTINGS = Object.freeze(Object.fromEntries(
  Object.entries(TABLE).map(([name, row]) => [name, Object.freeze({ ...row, default: deepFreeze(row.default), name, status: STATUS[name as SettingName] })]),
)) as { readonly [K in SettingName]: Setting<K> };

/** Names of all settings, in table order. */
export const SETTING_NAMES = Object.freeze(Object.keys(TABLE)) as readonly SettingName[];

/** Old upper-case name → current name (Celery's "New lowercase settings" table), foreign settings included. */
export const OLD_NAMES: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries([
  ...Object.entries(TABLE).flatMap(([name, row]) => (row.old as readonly string[]).map((old) => [old, name])),
  ...Object.entries(FOREIGN_SETTINGS).flatMap(([name, olds]) => olds.map((old) => [old, name])),
]));

const ALL_NAMES = [...SETTING_NAMES, ...Object.keys(OLD_NAMES), ...Object.keys(FOREIGN_SETTINGS)];

/** True for a row of the table (not an old name, not a foreign setting). */
export function isSettingName(key: string): key is SettingName {
  return Object.hasOwn(TABLE, key);
}

/**
 * The current name `key` stands for: itself for a setting, the new name for an old one, itself for a Celery
 * setting celeriac does not use (cassandra_servers …). Undefined for anything else (a custom key).
 */
export function canonicalName(key: string): string | undefined {
  if (Object.hasOwn(TABLE, key) || Object.hasOwn(FOREIGN_SETTINGS, key)) return key;
  return Object.hasOwn(OLD_NAMES, key) ? OLD_NAMES[key] : undefined;
}

/**
 * The known name an unknown `key` was probably meant to be: a camelCase spelling of a setting (`taskSerializer`),
 * a case slip (`TASK_SERIALIZER`) or a typo (`task_serialiser`). Undefined when `key` is known or looks deliberate.
 */
export function suggestName(key: string): string | undefined {
  if (canonicalName(key) !== undefined) return undefined;
  if (/[a-z][A-Z]/.test(key)) {
    const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (canonicalName(snake) !== undefined) return snake;
  }
  return nearest(key, ALL_NAMES);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
