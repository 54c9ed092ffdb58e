// app.conf: one app's settings, layered as Celery layers them (run-time changes > config source > added defaults >
// the table's defaults) and validated on every write. No I/O: importing a config module is the app's job.

import { ImproperlyConfigured } from '../errors.js';
import { censor, humanizeTable, isSensitiveKey } from './humanize.js';
import { canonicalName, isSettingName, OLD_NAMES, SETTING_NAMES, SETTINGS, suggestName, type OldSettings, type SettingName, type Settings } from './settings.js';
import { redactText, redactUrl } from './urls.js';

type Values = Readonly<Record<string, unknown>>;
type Layer = Map<string, unknown>;

/** Options of `table()` and `humanize()` (Celery's with_defaults, censored). */
export interface TableOptions {
  /** Include every setting, not only those changed from the defaults. Default false. */
  withDefaults?: boolean;
  /** Hide secrets: values of keys matching API|TOKEN|KEY|SECRET|PASS|SIGNATURE|DATABASE, and URL passwords. Default true. */
  censored?: boolean;
}

interface Problem {
  readonly setting: string;
  readonly message: string;
}

/**
 * Called once per setting name when a user sets a row celeriac does not apply (status accepted or planned), with
 * the row's reason: the app logs it as a warning.
 */
export type UnappliedListener = (name: SettingName, status: 'accepted' | 'planned', why: string) => void;

// A defaults layer added by addDefaults(): objects are checked at once, functions on the first read.
interface DefaultsEntry {
  layer?: Layer;
  load?: () => Values;
}

/** Every setting is also a typed property, under its name and its old names (accessors made from the table). */
export interface Config extends Settings, OldSettings {}

/**
 * The configuration of one app (Celery's `app.conf`). Read and write settings as properties
 * (`conf.task_serializer = 'json'`, `conf.CELERY_TIMEZONE`) or with get/set; keys of your own are allowed and
 * readable with get(), unless they look like a typo of a setting. Every write is validated; a batch (update,
 * configFromObject) reports all of its problems in one ImproperlyConfigured.
 */
export class Config {
  readonly #preconf: Layer;
  #changes: Layer;
  #source: Layer = new Map();
  /** addDefaults() layers, newest first: a later addDefaults wins over an earlier one. */
  readonly #defaults: DefaultsEntry[] = [];
  /** This Config's copies of object-valued table defaults, so that mutating one never reaches another app. */
  readonly #tableDefaults = new Map<string, unknown>();
  readonly #onUnapplied?: UnappliedListener;
  /** Names already reported to onUnapplied. */
  readonly #noticed = new Set<string>();
  readonly #deprecated = new Set<string>();

  /**
   * @param preconf settings given to `new Celery(main, options)` by Celery name (the app maps broker → broker_url,
   * backend → result_backend). They count as run-time changes and survive configFromObject(), as in Celery.
   * @param options.onUnapplied told when a setting celeriac does not apply is set (by any means but addDefaults).
   */
  constructor(preconf: Values = {}, options: { onUnapplied?: UnappliedListener } = {}) {
    this.#onUnapplied = options.onUnapplied;
    this.#preconf = this.#notice(check(Object.entries(preconf), 'new Celery() options'));
    this.#changes = new Map(this.#preconf);
  }

  static {
    const define = (property: string, name: SettingName): void => {
      Object.defineProperty(Config.prototype, property, {
        configurable: true,
        get(this: Config) {
          return this.get(name);
        },
        set(this: Config, value: unknown) {
          this.set(name, value);
        },
      });
    };
    for (const name of SETTING_NAMES) define(name, name);
    for (const [old, name] of Object.entries(OLD_NAMES)) if (isSettingName(name)) define(old, name);
  }

  /** The effective value of a setting (by its name or an old name) or of a custom key; undefined if never set. */
  get<K extends SettingName>(name: K): Settings[K];
  get(name: string): unknown;
  get(name: string): unknown {
    return this.#lookup(resolveKey(name, 'conf.get'));
  }

  /** Change a setting at run time (highest precedence). Undefined removes the run-time change. */
  set<K extends SettingName>(name: K, value: Settings[K] | undefined): this;
  set(name: string, value: unknown): this;
  set(name: string, value: unknown): this {
    if (value === undefined) {
      this.#changes.delete(resolveKey(name, 'conf.set'));
      return this;
    }
    return this.#change([[name, value]], 'conf.set');
  }

  /** Change several settings at run time; all are checked first, and nothing changes if any is wrong. */
  update(values: Values): this {
    return this.#change(Object.entries(values), 'conf.update');
  }

  /**
   * Load settings from an object, a class (static fields and instance fields) or an imported module namespace
   * (named exports, and a `default` export object). Upper-case old names are accepted; methods and `_private` keys
   * are skipped. As in Celery this replaces the previous config source and resets run-time changes (except the
   * constructor's settings), so make further changes after loading. The app imports module paths, then calls this.
   * @param options.silent a null or undefined source (say, a missing `module:Attribute`) is ignored instead of an error.
   */
  configFromObject(source: object | null | undefined, options: { silent?: boolean } = {}): this {
    if (source === null || source === undefined) {
      if (options.silent) return this;
      throw new ImproperlyConfigured('configFromObject() was given nothing (conf.configFromObject). Pass an object, a class or an imported module.');
    }
    this.#source = this.#notice(check(Object.entries(settingsFromSource(source)), 'configFromObject'));
    this.#changes = new Map(this.#preconf);
    return this;
  }

  /**
   * Add defaults below the config source (Celery's add_defaults). A function is called on the first read, once,
   * for defaults that are costly or depend on other modules. Defaults survive configFromObject().
   */
  addDefaults(defaults: Values | (() => Values)): this {
    this.#defaults.unshift(typeof defaults === 'function' ? { load: defaults } : { layer: check(Object.entries(defaults), 'addDefaults') });
    return this;
  }

  /** The run-time changes (constructor settings included), as a frozen copy. */
  get changes(): Readonly<Partial<Settings> & Record<string, unknown>> {
    return Object.freeze(Object.fromEntries(this.#changes)) as Readonly<Partial<Settings> & Record<string, unknown>>;
  }

  /**
   * The configuration as a plain object, keys sorted (Celery's conf.table): without defaults, the settings from the
   * config source and run-time changes; censored unless asked not to be.
   */
  table({ withDefaults = false, censored = true }: TableOptions = {}): Record<string, unknown> {
    const keys = new Set<string>([...this.#source.keys(), ...this.#changes.keys()]);
    if (withDefaults) {
      for (const layer of this.#defaultLayers()) for (const key of layer.keys()) keys.add(key);
      for (const name of SETTING_NAMES) keys.add(name);
    }
    const table = Object.fromEntries([...keys].sort().map((key) => [key, this.#lookup(key)]));
    return censored ? censor(table) : table;
  }

  /** `key: value` lines, Python-style values, secrets censored by default (Celery's conf.humanize). */
  humanize(options: TableOptions = {}): string {
    return humanizeTable(this.table(options));
  }

  /**
   * The old (upper-case, Celery 3) names the settings were given under, sorted, or null when none was (Celery's
   * conf.deprecated_settings, which `inspect conf` reports).
   */
  get deprecatedSettings(): string[] | null {
    return this.#deprecated.size ? [...this.#deprecated].sort() : null;
  }

  /** JSON.stringify(conf) gives the censored changes, never secrets. */
  toJSON(): Record<string, unknown> {
    return this.table();
  }

  /** console.log(conf) shows the censored changes too. */
  [Symbol.for('nodejs.util.inspect.custom')](): Record<string, unknown> {
    return this.table();
  }

  #change(entries: Iterable<[string, unknown]>, where: string): this {
    for (const [key, value] of this.#notice(check(entries, where))) this.#changes.set(key, value);
    return this;
  }

  /** Report the rows of `layer` celeriac does not apply (once per name), and return the layer. */
  #notice(layer: Layer): Layer {
    for (const old of OLD_NAMES_GIVEN.get(layer) ?? []) this.#deprecated.add(old);
    for (const key of layer.keys()) {
      if (!isSettingName(key) || this.#noticed.has(key)) continue;
      const { status } = SETTINGS[key];
      if (status.status === 'applied') continue;
      this.#noticed.add(key);
      this.#onUnapplied?.(key, status.status, status.why);
    }
    return layer;
  }

  #lookup(key: string): unknown {
    if (this.#changes.has(key)) return this.#changes.get(key);
    if (this.#source.has(key)) return this.#source.get(key);
    for (const layer of this.#defaultLayers()) if (layer.has(key)) return layer.get(key);
    if (!isSettingName(key)) return undefined;
    const value = SETTINGS[key].default;
    if (typeof value !== 'object' || value === null) return value;
    if (!this.#tableDefaults.has(key)) this.#tableDefaults.set(key, structuredClone(value));
    return this.#tableDefaults.get(key);
  }

  #defaultLayers(): Layer[] {
    return this.#defaults.map((entry) => {
      if (entry.load) {
        // Cleared before the call so that a function that fails is not retried on every read.
        const load = entry.load;
        delete entry.load;
        entry.layer = check(Object.entries(load() ?? {}), 'addDefaults');
      }
      return entry.layer ?? new Map();
    });
  }
}

/**
 * The setting-like keys of a config source: an object's own keys, a class's static and instance fields, a
 * module's named exports merged over its `default` export. Skips `_private` keys and functions that are not
 * settings (methods); keeps functions under setting names (routers, failover strategies).
 */
export function settingsFromSource(source: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const take = (obj: object, keys: readonly string[]): void => {
    for (const key of keys) {
      if (key.startsWith('_') || !/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) continue;
      const value = (obj as Record<string, unknown>)[key];
      if (typeof value === 'function' && canonicalName(key) === undefined && suggestName(key) === undefined) continue;
      out[key] = value;
    }
  };
  if (typeof source === 'function') {
    take(source, Object.getOwnPropertyNames(source).filter((k) => k !== 'length' && k !== 'name' && k !== 'prototype'));
    if (/^class\b/.test(Function.prototype.toString.call(source))) {
      let instance: object;
      try {
        instance = new (source as new () => object)();
      } catch (cause) {
        throw new ImproperlyConfigured(`The config class ${source.name} could not be constructed (configFromObject): ${(cause as Error).message}. Give it a constructor without arguments, or use static fields.`, { cause });
      }
      take(instance, Object.keys(instance));
    }
    return out;
  }
  const fallback = (source as { default?: unknown }).default;
  if (fallback !== null && (typeof fallback === 'object' || typeof fallback === 'function')) Object.assign(out, settingsFromSource(fallback));
  take(source, Object.keys(source).filter((k) => k !== 'default'));
  return out;
}

/**
 * Split Celery's `'module:Attribute'` form of a config source (`'./celeryconfig.ts:ProdConfig'`): the app imports
 * `module` and passes its `attribute` (or the whole module when null) to configFromObject. Windows drive letters
 * (`C:\\…`) are not mistaken for an attribute.
 */
export function splitConfigPath(spec: string): { module: string; attribute: string | null } {
  const m = /^(.+):([A-Za-z_$][\w$]*)$/.exec(spec);
  if (!m || /^[A-Za-z]$/.test(m[1]!)) return { module: spec, attribute: null };
  return { module: m[1]!, attribute: m[2]! };
}

/** The canonical key for a read or single write: a setting, an old name, or an accepted custom key. */
function resolveKey(name: string, where: string): string {
  const canonical = canonicalName(name);
  if (canonical !== undefined) return canonical;
  const near = suggestName(name);
  if (near !== undefined) throw fail([nearMiss(name, near, where)], where);
  return name;
}

/** Check a batch of key/value pairs; returns them under canonical names, or throws every problem at once. */
/** The old setting names each checked layer was given under (read when a layer is noticed). */
const OLD_NAMES_GIVEN = new WeakMap<Layer, string[]>();

function check(entries: Iterable<[string, unknown]>, where: string): Layer {
  const out: Layer = new Map();
  const givenAs = new Map<string, string>();
  const oldNames: string[] = [];
  const problems: Problem[] = [];
  for (const [key, value] of entries) {
    if (value === undefined) continue;
    const name = canonicalName(key);
    if (name === undefined) {
      const near = suggestName(key);
      if (near !== undefined) problems.push(nearMiss(key, near, where));
      else out.set(key, value);
      continue;
    }
    let accepted: unknown = value;
    if (isSettingName(name)) {
      const checked = SETTINGS[name].check(value);
      if (!checked.ok) {
        problems.push(badValue(name, key, value, checked.hint, where));
        continue;
      }
      accepted = checked.value;
    }
    const earlier = givenAs.get(name);
    if (earlier !== undefined && !sameValue(out.get(name), accepted)) {
      problems.push({ setting: name, message: `Setting ${name} is given twice, as ${earlier} and ${key}, with different values (${where}). Keep only ${name}.` });
      continue;
    }
    givenAs.set(name, key);
    out.set(name, accepted);
    if (key !== name && Object.hasOwn(OLD_NAMES, key)) oldNames.push(key);
  }
  if (problems.length > 0) throw fail(problems, where);
  if (oldNames.length) OLD_NAMES_GIVEN.set(out, oldNames);
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

function nearMiss(key: string, near: string, where: string): Problem {
  const current = OLD_NAMES[near];
  const target = current === undefined ? near : `${near} (now ${current})`;
  return {
    setting: current ?? near,
    message: `Unknown setting ${key} (${where}). Did you mean ${target}? Keys of your own are allowed, but not ones this close to a Celery setting.`,
  };
}

function badValue(name: SettingName, key: string, value: unknown, hint: string | undefined, where: string): Problem {
  const spec = SETTINGS[name];
  const label = key === name ? name : `${name} (given as ${key})`;
  // A URL check's hint carries its own example, so it replaces the generic "Use …" advice.
  const advice = hint !== undefined && (spec.type === 'broker-url' || spec.type === 'backend-url') ? hint : `Use ${spec.expects}.${hint === undefined ? '' : ` ${hint}`}`;
  return { setting: name, message: `Setting ${label} cannot be ${describe(name, value)} (${where}). ${advice}` };
}

/** A value for an error message: short, and never a secret. */
function describe(name: string, value: unknown): string {
  const kind = Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`;
  if (isSensitiveKey(name)) return `${kind} (hidden)`;
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(redactUrl(value));
  else if (typeof value === 'function') text = `function ${value.name || '(anonymous)'}`;
  else {
    try {
      text = redactText(JSON.stringify(value) ?? String(value));
    } catch {
      text = kind;
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function fail(problems: readonly Problem[], where: string): ImproperlyConfigured {
  const [first] = problems;
  if (problems.length === 1) return new ImproperlyConfigured(first!.message, { context: { setting: first!.setting } });
  return new ImproperlyConfigured(
    `${problems.length} settings are wrong (${where}):\n${problems.map((p) => `  - ${p.message}`).join('\n')}`,
    { context: { setting: first!.setting } },
  );
}
