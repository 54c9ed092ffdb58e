// The worker's bookkeeping: revoked ids expire as Celery's LimitedSet does, stamps revoke by value, parked ETAs.

import { describe, expect, it } from 'vitest';
import { WorkerState } from '../../../src/worker/state.js';

const msg = (id: string, stamps?: Record<string, unknown>) => ({ id, stampedHeaders: stamps ? Object.keys(stamps) : null, stamps: stamps ?? {} });

describe('revoked', () => {
  it('ids are remembered for 3 hours (REVOKE_EXPIRES), newest last', () => {
    const s = new WorkerState();
    s.revoke('old', Date.now() - 3 * 3600 * 1000 - 1);
    s.revoke('new');
    expect(s.revokedBy(msg('old'))).toBeNull();
    expect(s.revokedBy(msg('new'))).toBe('id');
    expect(s.revokedIds()).toEqual(['new']);
  });

  it('stamps match a scalar or any value of a list stamp, by value', () => {
    const s = new WorkerState();
    s.revokeStamps('mon', ['r1', { k: 1 }]);
    expect(s.revokedBy(msg('a', { mon: 'r1' }))).toEqual({ mon: 'r1' });
    expect(s.revokedBy(msg('b', { mon: ['x', 'r1'] }))).toEqual({ mon: 'r1' });
    expect(s.revokedBy(msg('c', { mon: { k: 1 } }))).toEqual({ mon: { k: 1 } });
    expect(s.revokedBy(msg('d', { mon: 'r2' }))).toBeNull();
    expect(s.revokedBy(msg('e', { other: 'r1' }))).toBeNull();
  });
});

describe('parked ETA tasks', () => {
  it('are unparked once: the second delivery is not a new reception', () => {
    const s = new WorkerState();
    s.park({ message: { id: 'p' } as never, deliveryInfo: { exchange: '', routing_key: 'celery' }, eta: Date.now() + 60_000 });
    expect(s.unpark('p')).toBe(true);
    expect(s.unpark('p')).toBe(false);
  });
});

describe('revoked list overflow (issue 19 item 7)', () => {
  it('reports unexpired ids forgotten because the list holds 50,000 already; expired ones are not reported', () => {
    const s = new WorkerState();
    const reports: number[] = [];
    s.onRevokedOverflow = (forgotten, max) => {
      expect(max).toBe(50_000);
      reports.push(forgotten);
    };
    s.revoke('expired', Date.now() - 4 * 3600 * 1000);
    for (let i = 0; i < 50_000; i++) s.revoke(`flood-${i}`);
    expect(reports).toEqual([]);
    s.revoke('one-more');
    s.revoke('and-another');
    expect(reports).toEqual([1, 1]);
    expect(s.revokedBy(msg('flood-0'))).toBeNull();
    expect(s.revokedBy(msg('and-another'))).toBe('id');
  });
});
