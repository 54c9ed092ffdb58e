// The contract every result backend must keep, run against each real store: Celery's result documents, the
// SUCCESS-is-final rule, waiting with a deadline, groups and the chord counter. A backend whose semantics exclude a
// case (rpc:// stores nothing) names it in `skip` with the reason, which the report shows.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it as vitestIt } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import type { ResultBackend, ResultDestination } from '../../src/backends/backend.js';
import { buildResultMeta } from '../../src/protocol/result-meta.js';

export interface BackendSuiteOptions {
  /** A fresh backend on the store under test; every call reaches the same store. */
  open(): Promise<ResultBackend>;
  /** Where the writer's results go (rpc://: the reader's reply queue), as a worker passes the request's. */
  destination?: ResultDestination;
  /** Cases this backend's semantics exclude: test title → why. */
  skip?: Readonly<Record<string, string>>;
}

export function describeBackendConformance(name: string, options: BackendSuiteOptions): void {
  describe(`backend conformance: ${name}`, () => {
    let writer: ResultBackend;
    let reader: ResultBackend;
    const store = (id: string, meta: Parameters<ResultBackend['store']>[1]) => writer.store(id, meta, options.destination);
    // The reader plays the client that sent the task (rpc:// delivers results only to the sender).
    const sent = async (id: string) => {
      await reader.onTaskCall?.(id, []);
      return id;
    };
    const it = (title: string, fn: () => Promise<void>) => {
      const why = options.skip?.[title];
      if (why) vitestIt.skip(`${title} — skipped: ${why}`, fn);
      else vitestIt(title, fn);
    };
    beforeAll(async () => {
      writer = await options.open();
      reader = await options.open();
    });
    afterAll(async () => {
      await writer?.close();
      await reader?.close();
    });

    it('reads nothing (PENDING) for an unknown id', async () => {
      expect(await reader.get(await sent(randomUUID()))).toBeNull();
    });

    it('stores and reads back a SUCCESS document with nested, unicode data', async () => {
      const id = await sent(randomUUID());
      const result = { list: [1, 2.5, '三', null, true], nested: { deep: ['é'] } };
      await store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result, parentId: 'p-1', groupId: 'g-1' }));
      const meta = await reader.get(id);
      expect(meta).toMatchObject({ status: 'SUCCESS', result, traceback: null, task_id: id });
      expect(meta!.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    });

    it('stores a FAILURE with its exception document and traceback', async () => {
      const id = await sent(randomUUID());
      const exc = { exc_type: 'ValueError', exc_message: ['bad thing'], exc_module: 'builtins' };
      await store(id, buildResultMeta({ taskId: id, status: 'FAILURE', result: exc, traceback: 'Traceback (most recent call last):\nValueError: bad thing\n' }));
      const meta = await reader.get(id);
      expect(meta).toMatchObject({ status: 'FAILURE', result: exc });
      expect(meta!.traceback).toContain('ValueError: bad thing');
    });

    it('moves through STARTED to SUCCESS and never overwrites a stored SUCCESS', async () => {
      const id = await sent(randomUUID());
      await store(id, buildResultMeta({ taskId: id, status: 'STARTED', result: { pid: 1, hostname: 'w@h' }, dateDone: null }));
      expect((await reader.get(id))!.status).toBe('STARTED');
      await store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 42 }));
      await store(id, buildResultMeta({ taskId: id, status: 'STARTED', result: null, dateDone: null }));
      expect(await reader.get(id)).toMatchObject({ status: 'SUCCESS', result: 42 });
    });

    it('waitFor resolves with a result stored after the wait began, ignoring non-ready states', async () => {
      const id = await sent(randomUUID());
      const waiting = reader.waitFor(id, { timeoutMs: 5_000, intervalMs: 20 });
      setTimeout(() => void store(id, buildResultMeta({ taskId: id, status: 'STARTED', result: null, dateDone: null })), 50);
      setTimeout(() => void store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 'done' })), 250);
      const meta = await waiting;
      expect(meta).toMatchObject({ status: 'SUCCESS', result: 'done' });
    });

    it('waitFor returns a result stored before the wait at once', async () => {
      const id = await sent(randomUUID());
      await store(id, buildResultMeta({ taskId: id, status: 'REVOKED', result: { exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' } }));
      expect((await reader.waitFor(id, { timeoutMs: 1_000, intervalMs: 20 })).status).toBe('REVOKED');
    });

    it('waitFor rejects with TimeoutError at the deadline', async () => {
      const started = Date.now();
      await expect(reader.waitFor(await sent(randomUUID()), { timeoutMs: 300, intervalMs: 20 })).rejects.toBeInstanceOf(TimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    it('forget removes a result', async () => {
      const id = await sent(randomUUID());
      await store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 1 }));
      await writer.forget(id);
      expect(await reader.get(id)).toBeNull();
    });

    it('saves, reads and forgets a group, nested member groups included (Celery\'s result tuples)', async () => {
      const gid = randomUUID();
      const [a, b, inner, c] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const members = [[[a, null], null], [[inner, null], [[[b, null], null], [[c, null], null]]]];
      expect(await reader.getGroup(gid)).toBeNull();
      await writer.saveGroup(gid, members);
      expect(await reader.getGroup(gid)).toEqual(members);
      await writer.forgetGroup(gid);
      expect(await reader.getGroup(gid)).toBeNull();
    });

    it('completes a chord exactly once, with the parts ordered by index', async () => {
      const gid = randomUUID();
      await writer.setChordSize(gid, 3);
      const parts = [
        { index: 2, taskId: 'c', state: 'SUCCESS', result: 30 },
        { index: 0, taskId: 'a', state: 'SUCCESS', result: 10 },
        { index: 1, taskId: 'b', state: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['x'], exc_module: 'builtins' } },
      ];
      const outcomes = [];
      for (const part of parts) outcomes.push(await (part.index === 0 ? reader : writer).addChordPart(gid, part));
      expect(outcomes[0]).toBeNull();
      expect(outcomes[1]).toBeNull();
      expect(outcomes[2]!.map((p) => [p.taskId, p.state, p.result])).toEqual([
        ['a', 'SUCCESS', 10],
        ['b', 'FAILURE', { exc_type: 'ValueError', exc_message: ['x'], exc_module: 'builtins' }],
        ['c', 'SUCCESS', 30],
      ]);
    });

    it('completes a chord once when its parts arrive concurrently', async () => {
      const gid = randomUUID();
      const size = 8;
      await writer.setChordSize(gid, size);
      const outcomes = await Promise.all(Array.from({ length: size }, (_, i) => (i % 2 ? writer : reader).addChordPart(gid, { index: i, taskId: `t${i}`, state: 'SUCCESS', result: i })));
      const completions = outcomes.filter((o) => o !== null);
      expect(completions).toHaveLength(1);
      expect(completions[0]!.map((p) => p.result)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    });
  });
}
