// Coordination on SQL (SQLite and PostgreSQL): one small table of our own beside kombu's and Celery's,
//   celeriac_beat(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at BIGINT NULL)
// where registers have no expiry and leases carry one (epoch ms). Compare-and-set is one conditional UPDATE or
// INSERT … ON CONFLICT DO NOTHING; a lease is one INSERT … ON CONFLICT DO UPDATE … WHERE, so each is atomic in
// the database. PostgreSQL leases use the server's clock; SQLite's (one file, one machine) the process's.

import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { Coordination } from './coordination.js';
import { SCHEMA_LOCKS, ensurePgSchema, wrapPgError } from './postgres.js';
import { numbered } from './sql-dialect.js';

const TABLE = `CREATE TABLE IF NOT EXISTS celeriac_beat (
  key VARCHAR(255) NOT NULL PRIMARY KEY,
  value TEXT NOT NULL,
  expires_at BIGINT NULL
)`;

const SQL = {
  get: 'SELECT value FROM celeriac_beat WHERE key = ?',
  insertIfAbsent: 'INSERT INTO celeriac_beat (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
  replaceIfEqual: 'UPDATE celeriac_beat SET value = ? WHERE key = ? AND value = ?',
  /** (key, holder, until, now): taken when absent, held by the same holder, or expired. */
  lease: (now: string) =>
    'INSERT INTO celeriac_beat (key, value, expires_at) VALUES (?, ?, ' + (now === '?' ? '? + ?' : `${now} + ?`) + ') ' +
    'ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at ' +
    `WHERE celeriac_beat.value = excluded.value OR celeriac_beat.expires_at IS NULL OR celeriac_beat.expires_at < ${now}`,
  release: 'DELETE FROM celeriac_beat WHERE key = ? AND value = ?',
};

/** Coordination in a SQLite file, on the store's own connection (better-sqlite3 is synchronous). */
export class SqliteCoordination implements Coordination {
  private ready = false;

  constructor(private readonly db: () => Database.Database, readonly where: string) {}

  private conn(): Database.Database {
    const db = this.db();
    if (!this.ready) {
      db.exec(TABLE);
      this.ready = true;
    }
    return db;
  }

  async get(key: string): Promise<string | null> {
    const row = this.conn().prepare(SQL.get).get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  async compareAndSet(key: string, expected: string | null, value: string): Promise<boolean> {
    const db = this.conn();
    const result = expected === null ? db.prepare(SQL.insertIfAbsent).run(key, value) : db.prepare(SQL.replaceIfEqual).run(value, key, expected);
    return result.changes === 1;
  }

  async lease(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    return this.conn().prepare(SQL.lease('?')).run(key, holder, now, Math.round(ttlMs), now).changes === 1;
  }

  async release(key: string, holder: string): Promise<void> {
    this.conn().prepare(SQL.release).run(key, holder);
  }
}

/** The server's clock in epoch ms, so leases do not depend on the clocks of the processes using them. */
export const PG_NOW = '(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT';

/** Coordination in PostgreSQL, on the store's pool. */
export class PgCoordination implements Coordination {
  private schema?: Promise<void>;

  constructor(private readonly pool: pg.Pool, private readonly url: string, readonly where: string) {}

  private async query(sql: string, params: unknown[]): Promise<pg.QueryResult> {
    try {
      this.schema ??= ensurePgSchema(this.pool, SCHEMA_LOCKS.broker, { tables: [TABLE], columns: [], indexes: [] }).catch((error) => {
        this.schema = undefined;
        throw error;
      });
      await this.schema;
      return await this.pool.query(numbered(sql), params);
    } catch (error) {
      throw wrapPgError(error, this.url, 'beat state');
    }
  }

  async get(key: string): Promise<string | null> {
    const { rows } = await this.query(SQL.get, [key]);
    return (rows[0] as { value: string } | undefined)?.value ?? null;
  }

  async compareAndSet(key: string, expected: string | null, value: string): Promise<boolean> {
    const result = expected === null ? await this.query(SQL.insertIfAbsent, [key, value]) : await this.query(SQL.replaceIfEqual, [value, key, expected]);
    return result.rowCount === 1;
  }

  async lease(key: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.query(SQL.lease(PG_NOW), [key, holder, Math.round(ttlMs)])).rowCount === 1;
  }

  async release(key: string, holder: string): Promise<void> {
    await this.query(SQL.release, [key, holder]);
  }
}
