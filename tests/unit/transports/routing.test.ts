import { describe, expect, it } from 'vitest';
import { routeToQueues, topicMatches } from '../../../src/transports/virtual/routing.js';

describe('virtual exchange routing', () => {
  it('matches topic patterns like AMQP', () => {
    expect(topicMatches('#', 'worker.heartbeat')).toBe(true);
    expect(topicMatches('task.*', 'task.succeeded')).toBe(true);
    expect(topicMatches('task.*', 'task.a.b')).toBe(false);
    expect(topicMatches('task.#', 'task')).toBe(true);
    expect(topicMatches('task.#', 'task.a.b')).toBe(true);
    expect(topicMatches('#.b', 'a.x.b')).toBe(true);
    expect(topicMatches('#.b', 'b')).toBe(true);
    expect(topicMatches('a.b', 'a.bb')).toBe(false);
    expect(topicMatches('a.b', 'aXb')).toBe(false);
  });
  it('routes direct, topic and fanout bindings', () => {
    const bindings = [
      { exchange: 'x', routingKey: 'a', pattern: '', queue: 'qa' },
      { exchange: 'x', routingKey: 'a.*', pattern: '', queue: 'qstar' },
      { exchange: 'x', routingKey: 'b', pattern: '', queue: 'qb' },
    ];
    expect(routeToQueues('direct', bindings, 'a')).toEqual(['qa']);
    expect(routeToQueues('topic', bindings, 'a.z')).toEqual(['qstar']);
    expect(routeToQueues('fanout', bindings, 'whatever')).toEqual(['qa', 'qstar', 'qb']);
  });
});
