// The SQL result backend on SQLite: Celery's database-backend rows byte for byte, Python-written rows read back,
// the celeriac extras (children, chord counter), and errors that say what to do.

import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ResultBackend } from '../../../src/backends/backend.js';
import { openBackend } from '../../../src/backends/index.js';
import { TimeoutError, UnsupportedEncoding } from '../../../src/errors.js';
import { pickleLoads } from '../../../src/protocol/pickle.js';
import { buildResultMeta } from '../../../src/protocol/result-meta.js';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-sql-backend-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const opened: ResultBackend[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.close()));
});
async function fresh(extra: { expiresMs?: number; prepare?: (db: Database.Database) => void } = {}) {
  const file = join(dir, `r${++n}.db`);
  if (extra.prepare) {
    const db = new Database(file);
    extra.prepare(db);
    db.close();
  }
  const backend = await openBackend({ url: `db+sqlite:///${file}`, serializer: 'json', options: {}, extended: false, expiresMs: extra.expiresMs });
  opened.push(backend);
  return { backend, file, raw: () => new Database(file, { readonly: true }) };
}

// Celery's model exactly as Python creates it (fixtures/sql/sqlite-capture.json).
const PYTHON_DDL = `CREATE TABLE celery_taskmeta (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, task_id VARCHAR(155), status VARCHAR(50), result BLOB, date_done DATETIME, traceback TEXT, name VARCHAR(155), args BLOB, kwargs BLOB, worker VARCHAR(155), retries INTEGER, queue VARCHAR(155), UNIQUE (task_id));
  CREATE TABLE celery_tasksetmeta (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, taskset_id VARCHAR(155), result BLOB, date_done DATETIME, UNIQUE (taskset_id));`;
// pickle.dumps({'exc_type': 'ValueError', 'exc_message': ('boom',), 'exc_module': 'builtins'}, protocol=5)
const PY_FAILURE = '8005954c000000000000007d94288c086578635f74797065948c0a56616c75654572726f72948c0b6578635f6d657373616765948c04626f6f6d9485948c0a6578635f6d6f64756c65948c086275696c74696e7394752e';

describe('SQL result backend (SQLite)', () => {
  it('writes rows as Celery does: pickled result, naive UTC date_done, status and traceback columns', async () => {
    const { backend, raw } = await fresh();
    const id = randomUUID();
    const before = Date.now();
    await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 5 }));
    const db = raw();
    try {
      const row = db.prepare('SELECT * FROM celery_taskmeta WHERE task_id = ?').get(id) as Record<string, unknown>;
      expect((row.result as Buffer).toString('hex')).toBe('80044b052e');
      expect(row.status).toBe('SUCCESS');
      expect(row.traceback).toBeNull();
      expect(row.name).toBeNull(); // not result_extended
      expect(row.date_done).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
      const stored = new Date(`${String(row.date_done).replace(' ', 'T')}Z`).getTime();
      expect(Math.abs(stored - before)).toBeLessThan(5_000); // UTC, not local time
    } finally {
      db.close();
    }
  });

  it('reads a FAILURE row written by Python Celery, on tables Python created', async () => {
    const id = randomUUID();
    const { backend } = await fresh({
      prepare: (db) => {
        db.exec(PYTHON_DDL);
        db.prepare('INSERT INTO celery_taskmeta (task_id, status, result, date_done, traceback) VALUES (?, ?, ?, ?, ?)')
          .run(id, 'FAILURE', Buffer.from(PY_FAILURE, 'hex'), '2026-11-25 02:22:47.635871', 'Traceback (most recent call last):\nValueError: boom\n');
      },
    });
    const meta = await backend.get(id);
    expect(meta).toMatchObject({
      status: 'FAILURE',
      result: { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' },
      date_done: '2026-11-25T02:22:47.635871',
      children: [],
      task_id: id,
    });
    expect(meta!.traceback).toContain('ValueError: boom');
    expect(meta!.name).toBeUndefined();
  });

  it('refuses a Python result that pickles an object, with an UnsupportedEncoding naming the task', async () => {
    const id = randomUUID();
    // pickle.dumps(datetime.datetime(2020, 1, 1), protocol=4)
    const datetime = '8004952a000000000000008c086461746574696d65948c086461746574696d65949394430a07e4010100000000000094859452942e';
    const { backend } = await fresh({
      prepare: (db) => {
        db.exec(PYTHON_DDL);
        db.prepare('INSERT INTO celery_taskmeta (task_id, status, result, date_done) VALUES (?, ?, ?, ?)').run(id, 'SUCCESS', Buffer.from(datetime, 'hex'), '2026-11-25 02:22:47.000000');
      },
    });
    await expect(backend.get(id)).rejects.toBeInstanceOf(UnsupportedEncoding);
    await expect(backend.get(id)).rejects.toThrow(new RegExp(`task ${id}.*STACK_GLOBAL`));
  });

  it('round-trips children, parent and group ids, a null date_done, and bytes', async () => {
    const { backend } = await fresh();
    const id = randomUUID();
    await backend.store(id, buildResultMeta({ taskId: id, status: 'STARTED', result: { pid: 7, hostname: 'w@h' }, dateDone: null }));
    expect(await backend.get(id)).toMatchObject({ status: 'STARTED', date_done: null, result: { pid: 7, hostname: 'w@h' } });
    await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: Buffer.from([1, 2, 3]), children: [[['child-1', null], null]], parentId: 'p', groupId: 'g' }));
    const meta = await backend.get(id);
    expect(meta).toMatchObject({ status: 'SUCCESS', children: [[['child-1', null], null]], parent_id: 'p', group_id: 'g', task_id: id });
    expect(Buffer.from(meta!.result as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
    expect(meta!.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  });

  it('fills the result_extended columns as Python does when the meta carries them', async () => {
    const { backend, raw } = await fresh();
    const id = randomUUID();
    await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 5, extended: { name: 'tasks.add', args: [2, 3], kwargs: {}, worker: 'w1@host', retries: 0, queue: 'celery' } }));
    const db = raw();
    try {
      const row = db.prepare('SELECT name, args, kwargs, worker, retries, queue FROM celery_taskmeta WHERE task_id = ?').get(id) as Record<string, unknown>;
      expect(row).toMatchObject({ name: 'tasks.add', worker: 'w1@host', retries: 0, queue: 'celery' });
      expect(JSON.parse((row.args as Buffer).toString())).toEqual([2, 3]);
      expect((row.kwargs as Buffer).toString()).toBe('{}');
    } finally {
      db.close();
    }
    expect(await backend.get(id)).toMatchObject({ name: 'tasks.add', args: [2, 3], kwargs: {}, worker: 'w1@host', retries: 0, queue: 'celery' });
  });

  it('never overwrites a SUCCESS, even from another connection', async () => {
    const { backend, file } = await fresh();
    const other = await openBackend({ url: `sqlite:///${file}`, serializer: 'json', options: {}, extended: false });
    opened.push(other);
    const id = randomUUID();
    await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 'first' }));
    await other.store(id, buildResultMeta({ taskId: id, status: 'FAILURE', result: { exc_type: 'X', exc_message: [], exc_module: 'm' } }));
    await other.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 'second' }));
    expect(await backend.get(id)).toMatchObject({ status: 'SUCCESS', result: 'first' });
  });

  it('times out waitFor with a message naming the task and its state', async () => {
    const { backend } = await fresh();
    const id = randomUUID();
    await backend.store(id, buildResultMeta({ taskId: id, status: 'STARTED', result: null, dateDone: null }));
    const error = await backend.waitFor(id, { timeoutMs: 100, intervalMs: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain(id);
    expect((error as Error).message).toContain('STARTED');
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('stop')), 50);
    await expect(backend.waitFor(randomUUID(), { intervalMs: 10, signal: abort.signal })).rejects.toThrow('stop');
  });

  it('saves groups as a pickled plain dict and refuses a GroupResult object Python saved', async () => {
    const gid = randomUUID();
    const pyGid = randomUUID();
    // A Python-saved group: GLOBAL celery.result GroupResult … REDUCE (abbreviated; only the opcode matters).
    const pyGroup = Buffer.concat([Buffer.from('8004', 'hex'), Buffer.from('ccelery.result\nGroupResult\n)R.', 'latin1')]);
    const { backend, raw } = await fresh({
      prepare: (db) => {
        db.exec(PYTHON_DDL);
        db.prepare('INSERT INTO celery_tasksetmeta (taskset_id, result, date_done) VALUES (?, ?, ?)').run(pyGid, pyGroup, '2026-11-25 02:22:47.000000');
      },
    });
    await backend.saveGroup(gid, [[['a', null], null], [['b', null], null]]);
    const db = raw();
    try {
      const row = db.prepare('SELECT result FROM celery_tasksetmeta WHERE taskset_id = ?').get(gid) as { result: Buffer };
      expect(pickleLoads(row.result)).toEqual({ result: [[gid, null], [[['a', null], null], [['b', null], null]]] });
    } finally {
      db.close();
    }
    expect(await backend.getGroup(gid)).toEqual([[['a', null], null], [['b', null], null]]);
    await expect(backend.getGroup(pyGid)).rejects.toThrow(/GroupResult/);
  });

  it('counts a chord part recorded twice (redelivery) only once', async () => {
    const { backend } = await fresh();
    const gid = randomUUID();
    await backend.setChordSize(gid, 2);
    expect(await backend.addChordPart(gid, { index: 0, taskId: 'a', state: 'SUCCESS', result: 1 })).toBeNull();
    expect(await backend.addChordPart(gid, { index: 0, taskId: 'a', state: 'SUCCESS', result: 1 })).toBeNull();
    const done = await backend.addChordPart(gid, { index: 1, taskId: 'b', state: 'SUCCESS', result: [2, 'x'] });
    expect(done).toEqual([
      { index: 0, taskId: 'a', state: 'SUCCESS', result: 1 },
      { index: 1, taskId: 'b', state: 'SUCCESS', result: [2, 'x'] },
    ]);
    // the chord's rows are gone: a late duplicate cannot complete it a second time
    expect(await backend.addChordPart(gid, { index: 1, taskId: 'b', state: 'SUCCESS', result: 2 })).toBeNull();
  });

  it('deletes rows older than result_expires when it opens (celery.backend_cleanup rule)', async () => {
    const oldId = randomUUID();
    const newId = randomUUID();
    const now = new Date().toISOString().replace('T', ' ').replace('Z', '000');
    const { backend } = await fresh({
      expiresMs: 60_000,
      prepare: (db) => {
        db.exec(PYTHON_DDL);
        const insert = db.prepare('INSERT INTO celery_taskmeta (task_id, status, result, date_done) VALUES (?, ?, ?, ?)');
        insert.run(oldId, 'SUCCESS', Buffer.from('80054b052e', 'hex'), '2000-01-01 00:00:00.000000');
        insert.run(newId, 'SUCCESS', Buffer.from('80054b052e', 'hex'), now);
      },
    });
    expect(await backend.get(oldId)).toBeNull();
    expect(await backend.get(newId)).toMatchObject({ status: 'SUCCESS', result: 5 });
  });

  it('says which file it could not open', async () => {
    const backend = await openBackend({ url: `sqlite:///${join(dir, 'no-such-dir', 'r.db')}`, serializer: 'json', options: {}, extended: false });
    await expect(backend.get('x')).rejects.toThrow(/no-such-dir does not exist: create it/);
  });
});
