// SQLite failures name the database file and say what to do (issue 19 item 8): "database or disk is full" and
// "attempt to write a readonly database" alone name nothing. The error keeps its class and code.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../../src/drivers/sqlite.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open() {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-sqlite-errors-'));
  dirs.push(dir);
  const file = join(dir, 'broker.db');
  const db = openSqliteDatabase(file, `sqlite:///${file}`, { tables: ['CREATE TABLE IF NOT EXISTS t (v BLOB)'], columns: [], indexes: [] });
  return { db, file };
}

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe('SQLite errors name the file', () => {
  it('disk full, from a statement and from a transaction: the file and what to do', () => {
    const { db, file } = open();
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const big = Buffer.alloc(64 * 1024);
    const error = thrown(() => insert.run(big));
    expect(error.code).toBe('SQLITE_FULL');
    expect(error.message).toBe(`database or disk is full (the SQLite database ${file}). The disk holding it is full (or the database hit max_page_count): free space, then retry.`);
    const inTransaction = thrown(() => db.transaction(() => insert.run(big)).immediate());
    expect(inTransaction.message).toContain(`(the SQLite database ${file})`);
    db.close();
  });

  it('a read-only connection: the file, and permissions to check; a syntax error names the file once', () => {
    const { db, file } = open();
    db.pragma('query_only = ON');
    const error = thrown(() => db.prepare('INSERT INTO t (v) VALUES (1)').run());
    expect(error.code).toMatch(/^SQLITE_READONLY/);
    expect(error.message).toMatch(new RegExp(`^attempt to write a readonly database \\(the SQLite database ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)\\. This process cannot write it`));
    const syntax = thrown(() => db.exec('SELEC 1'));
    expect(syntax.message.split(file)).toHaveLength(2);
    db.close();
  });
});
