// -A handling: `module`, `./path.ts`, `module:attribute`; finds the Celery app in the module like Celery does.

import { Celery } from '../app/celery.js';
import { ImproperlyConfigured, ModuleLoadError } from '../errors.js';
import { importModule, resolveModulePath } from '../utils/import-module.js';

/** URLs from the command line that win over the app's broker_url and result_backend. */
export interface AppOverrides {
  broker?: string;
  resultBackend?: string;
}

/**
 * Load the app named by -A (else the default app, see defaultApp), then apply the broker and backend URLs as
 * Celery's command line does: -b / --result-backend, else $CELERY_BROKER_URL / $CELERY_RESULT_BACKEND, else the
 * app's configuration. The environment keeps passwords off the command line (visible in /proc/<pid>/cmdline).
 */
export async function loadApp(spec: string | undefined, overrides: AppOverrides = {}, env: NodeJS.ProcessEnv = process.env): Promise<Celery> {
  const app = spec ? await findApp(spec) : await defaultApp();
  const broker = overrides.broker || env.CELERY_BROKER_URL;
  const resultBackend = overrides.resultBackend || env.CELERY_RESULT_BACKEND;
  if (broker) app.conf.set('broker_url', broker);
  if (resultBackend) app.conf.set('result_backend', resultBackend);
  return app;
}

/**
 * Without -A, Celery's default app: configured from the module named by $CELERY_CONFIG_MODULE (an error when it
 * cannot be loaded), else from a `celeryconfig` module in the working directory when there is one.
 */
async function defaultApp(): Promise<Celery> {
  const app = new Celery('celeriac');
  if (process.env.CELERY_CONFIG_MODULE) await app.configFromEnvvar('CELERY_CONFIG_MODULE');
  else if (resolveModulePath('celeryconfig')) await app.configFromObject('celeryconfig');
  return app;
}

/** `./tasks.ts:app` → ['./tasks.ts', 'app']; the last colon after the path separates the attribute. */
function splitSpec(spec: string): [string, string | undefined] {
  // `C:\…` style drive letters do not occur here.
  const colon = spec.lastIndexOf(':');
  return colon > 0 && !spec.slice(colon).includes('/') ? [spec.slice(0, colon), spec.slice(colon + 1)] : [spec, undefined];
}

/**
 * The -A spec made independent of how it was written, for pool children to import: an absolute path (or the
 * package name) plus the attribute that holds `app` (`./tasks` → `/abs/tasks.ts:app`).
 */
export async function resolveAppSpec(spec: string, app: Celery): Promise<string> {
  const [modulePath, attribute] = splitSpec(spec);
  const base = resolveModulePath(modulePath) ?? modulePath;
  if (attribute) return `${base}:${attribute}`;
  const mod = await importModule(modulePath);
  const name = Object.keys(mod).find((key) => mod[key] === app);
  return name ? `${base}:${name}` : base;
}

async function findApp(spec: string): Promise<Celery> {
  const [modulePath, attribute] = splitSpec(spec);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(modulePath);
  } catch (cause) {
    throw new ModuleLoadError(`Cannot load the app (-A ${spec}). ${(cause as Error).message}`, { cause });
  }
  const candidates = attribute ? [attribute] : ['app', 'celery', 'default'];
  for (const name of candidates) {
    const value = mod[name];
    if (value instanceof Celery || isCeleryLike(value)) return value as Celery;
  }
  const found = Object.values(mod).filter((v) => v instanceof Celery || isCeleryLike(v));
  if (!attribute && found.length === 1) return found[0] as Celery;
  throw new ImproperlyConfigured(
    attribute
      ? `Module '${modulePath}' has no Celery app named '${attribute}'. Export it: export const ${attribute} = new Celery(...).`
      : `Module '${modulePath}' exports ${found.length === 0 ? 'no' : 'several'} Celery app(s). Export one as 'app', or name it: -A ${modulePath}:myApp.`,
  );
}

// Two copies of the package (a task module resolving its own celeriac) must still be recognised.
function isCeleryLike(v: unknown): boolean {
  return typeof v === 'object' && v !== null && v.constructor?.name === 'Celery' && 'tasks' in v && 'conf' in v;
}
