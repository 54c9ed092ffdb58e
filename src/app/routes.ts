// task_routes and task_annotations: which queue a task goes to, and which options config adds to a task.
// Resolved when a task is sent (routes) or registered (annotations), exactly as Celery documents them.

/** Where a task goes: Celery's route dict. */
export interface RouteSpec {
  queue?: string;
  exchange?: string;
  routing_key?: string;
  priority?: number;
  [key: string]: unknown;
}

/** A task_routes function (Celery's router): name, args, kwargs and options → a route, or null/undefined to pass. */
export type RouterFunction = (name: string, args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>) => RouteSpec | string | null | undefined;

/**
 * task_routes forms Celery accepts: a map of exact names or glob patterns (`'feed.tasks.*'`) to a route or a queue
 * name, a router function, [pattern|RegExp, route] pairs, or a list of any of these (first match wins).
 */
export type RoutesSetting = Record<string, RouteSpec | string> | RouterFunction | Array<Record<string, RouteSpec | string> | RouterFunction | [string | RegExp, RouteSpec | string]> | null | undefined;

/** task_annotations: task name (or '*') → options, or a function of the name (Celery's annotations). */
export type AnnotationsSetting = Record<string, Record<string, unknown>> | ((name: string) => Record<string, unknown> | null | undefined) | Array<Record<string, Record<string, unknown>> | ((name: string) => Record<string, unknown> | null | undefined)> | null | undefined;

const globCache = new Map<string, RegExp>();

/** Celery-style glob: `*` any run, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    re = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    globCache.set(glob, re);
  }
  return re;
}

function normalize(route: RouteSpec | string | null | undefined): RouteSpec | null {
  if (route == null) return null;
  return typeof route === 'string' ? { queue: route } : route;
}

function lookupMap(map: Record<string, RouteSpec | string>, name: string): RouteSpec | null {
  if (Object.hasOwn(map, name)) return normalize(map[name]);
  for (const key of Object.keys(map)) {
    if ((key.includes('*') || key.includes('?')) && globToRegExp(key).test(name)) return normalize(map[key]);
  }
  return null;
}

/** The first matching route for a task, or null (then the default queue applies). */
export function resolveRoute(
  routes: RoutesSetting,
  name: string,
  args: unknown[] = [],
  kwargs: Record<string, unknown> = {},
  options: Record<string, unknown> = {},
): RouteSpec | null {
  if (!routes) return null;
  const list = Array.isArray(routes) ? routes : [routes];
  for (const router of list) {
    let found: RouteSpec | null = null;
    if (typeof router === 'function') found = normalize(router(name, args, kwargs, options));
    else if (Array.isArray(router)) {
      const [pattern, route] = router;
      const match = pattern instanceof RegExp ? pattern.test(name) : globToRegExp(pattern).test(name);
      if (match) found = normalize(route);
    } else found = lookupMap(router, name);
    if (found) return found;
  }
  return null;
}

/**
 * The options task_annotations give the task `name`, as Celery 5.2.6 resolves them: the first entry (in list order)
 * naming the task exactly (a function entry counts when it returns options), then the first entry with a '*' key laid
 * over it, so '*' wins a conflict; entries are not merged further. {} when nothing matches.
 */
export function resolveAnnotations(annotations: AnnotationsSetting, name: string): Record<string, unknown> {
  if (!annotations) return {};
  const list = Array.isArray(annotations) ? annotations : [annotations];
  let exact: Record<string, unknown> | undefined;
  let any: Record<string, unknown> | undefined;
  for (const entry of list) {
    if (typeof entry === 'function') {
      exact ??= entry(name) ?? undefined;
      continue;
    }
    if (exact === undefined && Object.hasOwn(entry, name)) exact = entry[name];
    if (any === undefined && Object.hasOwn(entry, '*')) any = entry['*'];
  }
  return { ...exact, ...any };
}
