// The modules named by the `imports` and `include` settings (Celery's loader.import_default_modules): the worker,
// and each pool child, import them at start so the tasks they define are registered before anything is consumed.

import { ImproperlyConfigured } from '../errors.js';
import { importModule } from '../utils/import-module.js';

/** What importDefaultModules reads: the two settings, as the app's conf holds them. */
export interface DefaultModulesSource {
  get(name: 'imports' | 'include'): readonly string[] | null | undefined;
}

/**
 * Import every module of `imports`, then of `include`, in order (paths relative to the working directory, or
 * package names), each once. Resolves with the specs imported. Throws ImproperlyConfigured naming the module, the
 * setting and the cause when one cannot be loaded (a missing file, or an error thrown while it loads).
 */
export async function importDefaultModules(
  conf: DefaultModulesSource,
  load: (spec: string) => Promise<unknown> = importModule,
): Promise<string[]> {
  const done: string[] = [];
  for (const setting of ['imports', 'include'] as const) {
    for (const spec of conf.get(setting) ?? []) {
      if (done.includes(spec)) continue;
      try {
        await load(spec);
      } catch (cause) {
        throw new ImproperlyConfigured(
          `Cannot import module '${spec}' named in ${setting}: ${(cause as Error)?.message ?? String(cause)}. ` +
            `Check the path (relative to ${process.cwd()}) and that the module loads on its own.`,
          { cause, context: { setting } },
        );
      }
      done.push(spec);
    }
  }
  return done;
}
