// The file-system result backend: Celery's file names and documents (as Python 5.2.6 writes them), a directory that
// cannot be used refused at open, keys that would leave the directory refused, expiry by modification time, and
// the errors for Celery backends celeriac does not provide.

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ResultBackend } from '../../../src/backends/backend.js';
import { filePathOf } from '../../../src/backends/file.js';
import { openBackend } from '../../../src/backends/index.js';
import { ImproperlyConfigured, OperationalError, UnknownScheme } from '../../../src/errors.js';
import { buildResultMeta } from '../../../src/protocol/result-meta.js';

const root = mkdtempSync(join(tmpdir(), 'celeriac-file-backend-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const opened: ResultBackend[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.close()));
});

async function open(dir: string, expiresMs?: number): Promise<ResultBackend> {
  const backend = await openBackend({ url: `file://${dir}`, serializer: 'json', options: {}, extended: false, expiresMs });
  opened.push(backend);
  return backend;
}

function freshDir(): string {
  const dir = join(root, randomUUID());
  mkdirSync(dir);
  return dir;
}

describe('file:// result backend', () => {
  it('reads the URL forms Celery reads', () => {
    expect(filePathOf('file:///var/celery/results')).toBe('/var/celery/results');
    expect(filePathOf('file://localhost/var/celery/results')).toBe('/var/celery/results');
    expect(filePathOf('file://results')).toBe('results');
    expect(() => filePathOf('file://')).toThrow(ImproperlyConfigured);
  });

  it('writes celery-task-meta-<id> and celery-taskset-meta-<gid> files holding the JSON documents', async () => {
    const dir = freshDir();
    const backend = await open(dir);
    await backend.store('abc', buildResultMeta({ taskId: 'abc', status: 'SUCCESS', result: { x: [1, 'é'] } }));
    await backend.saveGroup('gid1', [[['abc', null], null]]);
    expect(readdirSync(dir).sort()).toEqual(['celery-task-meta-abc', 'celery-taskset-meta-gid1']);
    const doc = JSON.parse(readFileSync(join(dir, 'celery-task-meta-abc'), 'utf8'));
    expect(Object.keys(doc)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    expect(doc).toMatchObject({ status: 'SUCCESS', result: { x: [1, 'é'] }, task_id: 'abc' });
    expect(JSON.parse(readFileSync(join(dir, 'celery-taskset-meta-gid1'), 'utf8'))).toEqual({ result: [['gid1', null], [[['abc', null], null]]] });
  });

  it('reads files written by Python Celery 5.2.6 (its exact bytes)', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'celery-task-meta-abc'), '{"status": "SUCCESS", "result": {"x": [1, "\\u00e9"]}, "traceback": null, "children": null, "date_done": "2026-11-29T20:09:56.064967", "task_id": "abc"}');
    writeFileSync(join(dir, 'celery-taskset-meta-gid1'), '{"result": [["gid1", null], [[["abc", null], null]]]}');
    const backend = await open(dir);
    expect(await backend.get('abc')).toMatchObject({ status: 'SUCCESS', result: { x: [1, 'é'] }, date_done: '2026-11-29T20:09:56.064967' });
    expect(await backend.getGroup('gid1')).toEqual([[['abc', null], null]]);
  });

  it('refuses, when it opens, a directory that does not exist, saying what to do', async () => {
    const missing = join(root, 'no-such-dir');
    const error = await openBackend({ url: `file://${missing}`, serializer: 'json', options: {}, extended: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImproperlyConfigured);
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toMatch(/Create the directory/);
  });

  it('refuses a task id that would name a file outside its directory, and writes nothing', async () => {
    const dir = freshDir();
    const backend = await open(dir);
    const id = '../../escaped';
    await expect(backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 1 }))).rejects.toBeInstanceOf(OperationalError);
    await expect(backend.get(id)).rejects.toThrow(/cannot be a file name/);
    expect(existsSync(join(root, 'escaped'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('treats results older than result_expires as gone, and removes them when a backend opens', async () => {
    const dir = freshDir();
    const backend = await open(dir, 60_000);
    await backend.store('old', buildResultMeta({ taskId: 'old', status: 'SUCCESS', result: 1 }));
    await backend.store('new', buildResultMeta({ taskId: 'new', status: 'SUCCESS', result: 2 }));
    writeFileSync(join(dir, 'unrelated.txt'), 'kept');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(dir, 'celery-task-meta-old'), hourAgo, hourAgo);
    utimesSync(join(dir, 'unrelated.txt'), hourAgo, hourAgo);
    expect(await backend.get('old')).toBeNull();
    expect((await backend.get('new'))!.result).toBe(2);

    await backend.store('old2', buildResultMeta({ taskId: 'old2', status: 'SUCCESS', result: 3 }));
    utimesSync(join(dir, 'celery-task-meta-old2'), hourAgo, hourAgo);
    await open(dir, 60_000);
    expect(readdirSync(dir).sort()).toEqual(['celery-task-meta-new', 'unrelated.txt']);
  });

  it('keeps a SUCCESS when two processes race (lock held across read and write)', async () => {
    const dir = freshDir();
    const [a, b] = [await open(dir), await open(dir)];
    const id = randomUUID();
    await a.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 'first' }));
    await Promise.all([
      b.store(id, buildResultMeta({ taskId: id, status: 'STARTED', result: null, dateDone: null })),
      a.store(id, buildResultMeta({ taskId: id, status: 'RETRY', result: null })),
    ]);
    expect(await b.get(id)).toMatchObject({ status: 'SUCCESS', result: 'first' });
    expect(readdirSync(dir)).toEqual([`celery-task-meta-${id}`]);
  });
});

describe('Celery result backends celeriac does not provide', () => {
  it.each([
    ['mongodb://localhost:27017/results', 'MongoDB'],
    ['cassandra://localhost/', 'Cassandra'],
    ['db+mysql://u:secret@localhost/celery', 'MySQL'],
    ['s3://bucket', 'AWS S3'],
  ])('%s names the server, why, and the supported schemes', async (url, server) => {
    const error = await openBackend({ url, serializer: 'json', options: {}, extended: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownScheme);
    const message = (error as Error).message;
    expect(message).toContain(server);
    expect(message).toMatch(/no machine celeriac is tested on runs that server/);
    expect(message).toMatch(/redis:\/\/.*file:\/\//);
    expect(message).not.toContain('secret');
  });

  it('an unknown scheme lists the supported ones', async () => {
    await expect(openBackend({ url: 'nosuch://x', serializer: 'json', options: {}, extended: false })).rejects.toThrow(/No result backend for scheme "nosuch:\/\/".*supported schemes are redis:\/\//);
  });
});
