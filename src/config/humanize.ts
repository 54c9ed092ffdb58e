// Printing configuration for people: censor secrets (by key name, and passwords inside URLs) and render values
// the way Celery's conf.humanize() does (`key: value` lines, Python-style repr). Pure: it never reads a Config.

import { inspect, type InspectOptionsStylized } from 'node:util';
import { redactText, redactUrl } from './urls.js';

/**
 * Keys whose values are hidden (Celery's HIDDEN_SETTINGS): any key containing API, TOKEN, KEY, SECRET, PASS,
 * SIGNATURE or DATABASE, in any case. As in Celery this is a name match, so name custom secrets accordingly.
 */
export const HIDDEN_SETTINGS = /API|TOKEN|KEY|SECRET|PASS|SIGNATURE|DATABASE/i;

/** What a hidden value shows as (Celery's mask). */
export const MASK = '********';

/** True when values stored under `key` are hidden when censored. */
export function isSensitiveKey(key: string): boolean {
  return HIDDEN_SETTINGS.test(key);
}

/**
 * A copy of `table` with secrets censored: values under sensitive keys become `'********'` (whatever they are,
 * so an object of credentials is hidden whole), URL passwords in any string become `**`, and nested objects and
 * arrays are censored the same way.
 */
export function censor(table: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, censorValue(k, v, new Set())]));
}

function censorValue(key: string, value: unknown, seen: Set<object>): unknown {
  // `auth`: where drivers keep a password of their own (ioredis's connection state).
  if (isSensitiveKey(key) || key === 'auth') return MASK;
  if (typeof value === 'string') return /\s/.test(value) ? redactText(value) : redactUrl(value);
  if (Array.isArray(value)) {
    if (seen.has(value)) return '...';
    seen.add(value);
    return value.map((item) => censorValue('', item, seen));
  }
  if (isRecord(value)) {
    if (seen.has(value)) return '...';
    seen.add(value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, censorValue(k, v, seen)]));
  }
  return value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** `key: value` lines, one per setting, values in Python repr as Celery prints them. */
export function humanizeTable(table: Readonly<Record<string, unknown>>): string {
  return Object.entries(table).map(([k, v]) => `${k}: ${pythonRepr(v)}`).join('\n');
}

/** A value as Python would print it: 'text', True/False/None, [..], {'k': v}; functions as <function name>. */
export function pythonRepr(value: unknown, seen: Set<object> = new Set()): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') return Number.isNaN(value) ? 'nan' : value === Infinity ? 'inf' : value === -Infinity ? '-inf' : String(value);
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return `<function ${value.name || '<anonymous>'}>`;
  if (seen.has(value)) return '...';
  seen.add(value);
  if (value instanceof Date) return quote(value.toISOString());
  if (value instanceof RegExp) return `re.compile(${quote(value.source)})`;
  if (Array.isArray(value)) return `[${value.map((v) => pythonRepr(v, seen)).join(', ')}]`;
  if (value instanceof Set) return value.size === 0 ? 'set()' : `{${[...value].map((v) => pythonRepr(v, seen)).join(', ')}}`;
  if (value instanceof Map) return `{${[...value].map(([k, v]) => `${pythonRepr(k, seen)}: ${pythonRepr(v, seen)}`).join(', ')}}`;
  if (!isRecord(value) && value.toString !== Object.prototype.toString) return `<${String(value)}>`;
  return `{${Object.entries(value).map(([k, v]) => `${quote(k)}: ${pythonRepr(v, seen)}`).join(', ')}}`;
}

function quote(s: string): string {
  // Python prefers single quotes and switches to double quotes when that avoids escaping.
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const escaped = s
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replaceAll(q, `\\${q}`);
  return `${q}${escaped}${q}`;
}

/**
 * Make `target` print with its secrets censored (as censor() does) under util.inspect and console.log, at any
 * depth, also inside the app, transport or backend that holds it. Its real values stay readable by code (drivers
 * need the password). Defines a non-enumerable [util.inspect.custom]; returns `target`.
 */
export function censorWhenInspected<T extends object>(target: T): T {
  Object.defineProperty(target, inspect.custom, {
    enumerable: false,
    configurable: true,
    value: (_depth: number, options: InspectOptionsStylized, show: typeof inspect) => {
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(target)) copy[key] = censorValue(key, (target as Record<string, unknown>)[key], new Set([target]));
      const name = (target as { constructor?: { name?: string } }).constructor?.name;
      const text = show(copy, { ...options, depth: _depth });
      return name && name !== 'Object' ? `${name} ${text}` : text;
    },
  });
  return target;
}
