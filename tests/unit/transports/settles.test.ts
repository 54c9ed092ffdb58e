// Settles that fail while the broker is unreachable are kept and retried after it comes back (issue 19, item 6);
// what can no longer take effect is reported with its task ids.

import { describe, expect, it } from 'vitest';
import { SettleRetry } from '../../../src/transports/virtual/settles.js';
import type { SettleLost } from '../../../src/transports/transport.js';

class Down extends Error {}

function setup() {
  const lost: SettleLost[] = [];
  const retry = new SettleRetry((e) => e instanceof Down, (l) => lost.push(l));
  return { retry, lost };
}

describe('SettleRetry', () => {
  it('keeps an ack that failed on an unreachable broker and sends it once the broker answers, in order', async () => {
    const { retry, lost } = setup();
    let up = false;
    const sent: string[] = [];
    const ack = (id: string) => ({ taskId: id, kind: 'ack' as const, run: async () => {
      if (!up) throw new Down('unreachable');
      sent.push(id);
    } });
    await retry.run(ack('a'));
    await retry.run(ack('b'));
    expect(retry.size).toBe(2);
    up = true;
    for (let i = 0; i < 200 && retry.size; i++) await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual(['a', 'b']);
    expect(lost).toEqual([]);
  });

  it('names a settle waiting for a retry by its key until it is sent (a lease check must not take it for a lost take)', async () => {
    const { retry } = setup();
    let up = false;
    await retry.run({ taskId: 'a', kind: 'ack', key: 'lease\u0000tag-1', run: async () => {
      if (!up) throw new Down('unreachable');
    } });
    expect(retry.isPending('lease\u0000tag-1')).toBe(true);
    expect(retry.isPending('lease\u0000tag-2')).toBe(false);
    up = true;
    for (let i = 0; i < 200 && retry.size; i++) await new Promise((r) => setTimeout(r, 20));
    expect(retry.isPending('lease\u0000tag-1')).toBe(false);
  });

  it('rejects at once with a failure that is not the broker being unreachable', async () => {
    const { retry } = setup();
    await expect(retry.run({ taskId: 'x', kind: 'ack', run: async () => { throw new Error('bad tag'); } })).rejects.toThrow('bad tag');
    expect(retry.size).toBe(0);
  });

  it('reports an ack whose lease no longer held the message (the store answered false)', async () => {
    const { retry, lost } = setup();
    await retry.run({ taskId: 'late', kind: 'ack', run: async () => false });
    await retry.run({ taskId: 'requeued', kind: 'requeue', run: async () => false });
    expect(lost.map((l) => l.taskIds)).toEqual([['late']]);
    expect(lost[0]!.reason).toMatch(/lease had expired/);
  });

  it('flush: acks still failing when the worker stops are reported by task id; requeues are not', async () => {
    const { retry, lost } = setup();
    const down = async () => { throw new Down('unreachable'); };
    await retry.run({ taskId: 't1', kind: 'ack', run: down });
    await retry.run({ taskId: 't2', kind: 'requeue', run: down });
    await retry.flush();
    expect(lost.map((l) => l.taskIds)).toEqual([['t1']]);
    expect(lost[0]!.reason).toMatch(/will deliver them again/);
  }, 15_000);
});
