// ClusterState: Celery's events.State rules (merge of out-of-order events, heartbeats, bounds) on hand-made events.

import { describe, expect, it } from 'vitest';
import { ClusterState, isAlive, taskAsDict, TASK_FIELDS } from '../../../src/dashboard/state.js';
import type { EventFields } from '../../../src/protocol/events.js';

let clock = 0;
const ev = (type: string, hostname: string, timestamp: number, fields: Record<string, unknown> = {}): EventFields =>
  ({ type, hostname, timestamp, utcoffset: 0, pid: 7, clock: ++clock, ...fields });

describe('ClusterState', () => {
  it('follows a task through its events, with Flower\'s fields', () => {
    const s = new ClusterState();
    s.event(ev('task-sent', 'gen1@client', 100, { uuid: 'a', name: 'tasks.add', args: '[1, 2]', kwargs: '{}', queue: 'celery', exchange: '', routing_key: 'celery' }), 100);
    s.event(ev('task-received', 'w1', 101, { uuid: 'a', name: 'tasks.add', args: '[1, 2]', kwargs: '{}', retries: 0, eta: null, expires: null, root_id: 'a', parent_id: null }), 101);
    s.event(ev('task-started', 'w1', 102, { uuid: 'a' }), 102);
    s.event(ev('task-succeeded', 'w1', 103, { uuid: 'a', result: '3', runtime: 0.5 }), 103);
    const t = taskAsDict(s.tasks.get('a')!);
    expect(Object.keys(t)).toEqual([...TASK_FIELDS]);
    expect(t).toMatchObject({
      uuid: 'a', name: 'tasks.add', state: 'SUCCESS', sent: 100, received: 101, started: 102, succeeded: 103, result: '3', runtime: 0.5,
      worker: 'w1', client: 'gen1@client', routing_key: 'celery', root: 'a', root_id: 'a', parent: null, children: [], timestamp: 103, failed: null,
    });
    expect(s.counter.get('w1')?.get('task-succeeded')).toBe(1);
  });

  it('an event that arrives after a more final one only fills in fields (Celery\'s merge rules)', () => {
    const s = new ClusterState();
    s.event(ev('task-succeeded', 'w1', 10, { uuid: 'b', result: '1', runtime: 1 }), 10);
    s.event(ev('task-received', 'w1', 8, { uuid: 'b', name: 'tasks.x', args: '[]', kwargs: '{}', hostname: 'w1', result: 'not kept' }), 11);
    s.event(ev('task-started', 'w1', 9, { uuid: 'b' }), 11);
    const t = s.tasks.get('b')!;
    expect(t).toMatchObject({ state: 'SUCCESS', name: 'tasks.x', result: '1', received: 8, started: 9, timestamp: 10 });
  });

  it('links children to parents in either order', () => {
    const s = new ClusterState();
    s.event(ev('task-received', 'w1', 1, { uuid: 'child', name: 'c', parent_id: 'parent', root_id: 'parent' }));
    s.event(ev('task-received', 'w1', 2, { uuid: 'parent', name: 'p' }));
    s.event(ev('task-received', 'w1', 3, { uuid: 'child2', name: 'c', parent_id: 'parent' }));
    expect(taskAsDict(s.tasks.get('parent')!).children).toEqual(['child', 'child2']);
  });

  it('keeps at most maxTasks tasks, dropping the least recently updated', () => {
    const s = new ClusterState({ maxTasks: 2 });
    s.event(ev('task-received', 'w1', 1, { uuid: 'one' }));
    s.event(ev('task-received', 'w1', 2, { uuid: 'two' }));
    s.event(ev('task-started', 'w1', 3, { uuid: 'one' }));
    s.event(ev('task-received', 'w1', 4, { uuid: 'three' }));
    expect([...s.tasks.keys()].sort()).toEqual(['one', 'three']);
    expect(s.tasksByTime().map((t) => t.uuid)).toEqual(['three', 'one']);
  });

  it('a worker is online while heartbeats come within freq × 2, offline after worker-offline', () => {
    const s = new ClusterState();
    s.event(ev('worker-online', 'w1', 50, { freq: 2, active: 0, processed: 0, sw_ident: 'celeriac' }), 50);
    const w = s.workers.get('w1')!;
    expect(isAlive(w, 53.9)).toBe(true);
    expect(isAlive(w, 54.1)).toBe(false);
    s.event(ev('worker-heartbeat', 'w1', 54, { freq: 2, active: 3, processed: 9 }), 54);
    expect(isAlive(w, 57)).toBe(true);
    expect(w).toMatchObject({ active: 3, processed: 9, sw_ident: 'celeriac', pid: 7 });
    s.event(ev('worker-offline', 'w1', 55), 55);
    expect(isAlive(s.workers.get('w1')!, 55)).toBe(false);
  });

  it('ignores events without a type or hostname', () => {
    const s = new ClusterState();
    s.event({ type: 'task-received' } as unknown as EventFields);
    s.event({ hostname: 'x' } as unknown as EventFields);
    expect(s.tasks.size + s.workers.size + s.eventCount).toBe(0);
  });
});
