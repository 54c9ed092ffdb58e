import { describe, expect, it } from 'vitest';
import { globToRegExp, resolveAnnotations, resolveRoute } from '../../../src/app/routes.js';
import { editDistance, suggest, TaskRegistry } from '../../../src/app/registry.js';
import { NotRegistered } from '../../../src/errors.js';

describe('task_routes', () => {
  it('matches exact names before globs, and accepts queue-name shorthand', () => {
    const routes = { 'feed.tasks.import_feed': { queue: 'feeds' }, 'feed.tasks.*': 'feed_misc', 'video.*': { queue: 'video', priority: 5 } };
    expect(resolveRoute(routes, 'feed.tasks.import_feed')).toEqual({ queue: 'feeds' });
    expect(resolveRoute(routes, 'feed.tasks.other')).toEqual({ queue: 'feed_misc' });
    expect(resolveRoute(routes, 'video.compress')).toEqual({ queue: 'video', priority: 5 });
    expect(resolveRoute(routes, 'web.render')).toBeNull();
  });
  it('supports router functions, [pattern, route] pairs with RegExp, and lists (first match wins)', () => {
    const routes = [
      (name: string) => (name === 'a.x' ? 'from-fn' : null),
      [/^b\./, { queue: 'from-regexp' }] as [RegExp, { queue: string }],
      { 'a.*': 'from-map' },
    ];
    expect(resolveRoute(routes, 'a.x')?.queue).toBe('from-fn');
    expect(resolveRoute(routes, 'a.y')?.queue).toBe('from-map');
    expect(resolveRoute(routes, 'b.z')?.queue).toBe('from-regexp');
  });
  it('escapes regex characters in globs', () => {
    expect(globToRegExp('a.b*').test('aXb1')).toBe(false);
    expect(globToRegExp('a.b*').test('a.b1')).toBe(true);
  });
});

describe('task_annotations', () => {
  // Each expectation is what Debian's Celery 5.2.6 gives the task (task.rate_limit, task.time_limit …).
  it('takes the first exact entry, then lays the first * entry over it; nothing else is merged', () => {
    expect(resolveAnnotations({ 'tasks.add': { rate_limit: '10/m' } }, 'tasks.add')).toEqual({ rate_limit: '10/m' });
    expect(resolveAnnotations({ '*': { acks_late: true } }, 'x')).toEqual({ acks_late: true });
    expect(resolveAnnotations({ 'tasks.add': { rate_limit: '5/s' }, '*': { rate_limit: '9/s', time_limit: 3 } }, 'tasks.add')).toEqual({ rate_limit: '9/s', time_limit: 3 });
    expect(resolveAnnotations([{ 'tasks.add': { rate_limit: '5/s' } }, { 'tasks.add': { rate_limit: '6/s', time_limit: 4 } }], 'tasks.add')).toEqual({ rate_limit: '5/s' });
    expect(resolveAnnotations([{ '*': { rate_limit: '7/s' } }, { 'tasks.add': { rate_limit: '6/s' } }], 'tasks.add')).toEqual({ rate_limit: '7/s' });
    expect(resolveAnnotations([{ '*': { time_limit: 7 } }, { '*': { rate_limit: '6/s' } }], 'tasks.add')).toEqual({ time_limit: 7 });
    expect(resolveAnnotations({ constructor: { rate_limit: '1/s' } }, 'toString')).toEqual({});
    expect(resolveAnnotations((name) => (name.startsWith('t') ? { priority: 3 } : null), 'tasks.x')).toEqual({ priority: 3 });
  });
});

describe('registry', () => {
  it('indexes like an object and suggests near names for unknown ones', () => {
    const reg = new TaskRegistry<{ name: string }>();
    reg.register({ name: 'tasks.add' });
    reg.register({ name: 'tasks.mul' });
    expect(reg['tasks.add']).toEqual({ name: 'tasks.add' });
    expect(reg.names()).toEqual(['tasks.add', 'tasks.mul']);
    expect(() => reg.get('tasks.ad')).toThrow(NotRegistered);
    expect(() => reg.get('tasks.ad')).toThrow(/did you mean 'tasks.add'/);
    expect(() => reg.get('zzz')).toThrow(/'zzz' is not registered\. /);
  });
  it('computes edit distances', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(suggest('task_serialiser', ['task_serializer', 'result_serializer'])).toEqual(['task_serializer']);
  });
});
