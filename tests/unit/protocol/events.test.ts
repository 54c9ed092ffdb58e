// Event payloads as Celery's worker and client send them: utcoffset's sign, the worker fields, task-sent.

import { describe, expect, it } from 'vitest';
import { buildEvent, taskSentFields, utcOffsetHours, workerEventFields } from '../../../src/protocol/events.js';
import { stampsFromOptions } from '../../../src/protocol/stamps.js';

const at = (offsetMinutes: number) => ({ getTimezoneOffset: () => offsetMinutes }) as Date;

describe('utcoffset', () => {
  it('is whole hours WEST of UTC, floored, as celery.utils.time.utcoffset', () => {
    expect(utcOffsetHours(at(-540))).toBe(-9); // Tokyo
    expect(utcOffsetHours(at(-330))).toBe(-6); // India: -19800 // 3600 in Python
    expect(utcOffsetHours(at(300))).toBe(5); // New York, winter
    expect(utcOffsetHours(at(210))).toBe(3); // Newfoundland
    expect(utcOffsetHours(at(0))).toBe(0);
  });
});

describe('fields', () => {
  it('worker events carry exactly Python\'s fields, in its order', () => {
    const event = buildEvent('worker-heartbeat', 'w1@h', 7, workerEventFields(1, 2, 2, '1.0.0'));
    expect(Object.keys(event)).toEqual(['hostname', 'utcoffset', 'pid', 'clock', 'freq', 'active', 'processed', 'loadavg', 'sw_ident', 'sw_ver', 'sw_sys', 'timestamp', 'type']);
    expect(event).toMatchObject({ sw_ident: 'celeriac', sw_ver: '1.0.0', freq: 2, active: 1, processed: 2, clock: 7 });
  });

  it('task-sent carries the Python client\'s fields', () => {
    const fields = taskSentFields(
      { id: 'i', task: 't', rootId: 'i', parentId: null, argsrepr: '[1]', kwargsrepr: '{}', retries: 0, eta: null, expires: null },
      { queue: 'q', exchange: '', routingKey: 'q' },
    );
    expect(Object.keys(fields)).toEqual(['uuid', 'root_id', 'parent_id', 'name', 'args', 'kwargs', 'retries', 'eta', 'expires', 'queue', 'exchange', 'routing_key']);
  });
});

describe('stamps in send options', () => {
  it('ApplyOptions and Celery\'s signature options (stamped_headers + one option per stamp) give the same stamps', () => {
    expect(stampsFromOptions({ stampedHeaders: ['mon'], stamps: { mon: 1 } })).toEqual({ stampedHeaders: ['mon'], stamps: { mon: 1 } });
    expect(stampsFromOptions({ stamped_headers: ['mon', 'x'], mon: 'v', queue: 'q' })).toEqual({ stampedHeaders: ['mon', 'x'], stamps: { mon: 'v', x: null } });
    expect(stampsFromOptions({ queue: 'q' })).toEqual({ stampedHeaders: null, stamps: {} });
  });
});
