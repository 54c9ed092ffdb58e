// The SQL dialects SQLite and PostgreSQL differ in, as one declared table (pg-boss's BACKEND_PROFILES idea), plus
// the text helpers both the SQL broker (transports/sql/) and the SQL result backends share. Text only: no driver,
// no I/O. Statements elsewhere use `?` placeholders (see numbered()).

/** The SQL dialects with a declared profile (pg-boss's BACKEND_PROFILES idea). */
export type SqlDialect = 'sqlite' | 'postgresql';

/** Per-dialect differences, as a small table instead of branches all over the code. */
export interface DialectProfile {
  readonly name: SqlDialect;
  /** `id` column type in CREATE TABLE. */
  readonly idColumn: string;
  readonly blob: string;
  readonly datetime: string;
  readonly bigint: string;
  /** The value to insert into `id` for a table whose Python model draws ids from `sequence` (null: omit id). */
  idValue(sequence: string): string | null;
  /** Statement prefix for a transaction that takes the write lock up front. */
  readonly beginWrite: string;
}

/** The declared profile of each SQL dialect celeriac speaks. */
export const DIALECTS: Readonly<Record<SqlDialect, DialectProfile>> = {
  sqlite: {
    name: 'sqlite',
    idColumn: 'INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT',
    blob: 'BLOB',
    datetime: 'DATETIME',
    bigint: 'INTEGER',
    idValue: () => null,
    beginWrite: 'BEGIN IMMEDIATE',
  },
  postgresql: {
    name: 'postgresql',
    // Python attaches no default to these ids and inserts nextval(<sequence>) explicitly (SQL-WIRE.md intro).
    idColumn: 'INTEGER NOT NULL PRIMARY KEY',
    blob: 'BYTEA',
    datetime: 'TIMESTAMP WITHOUT TIME ZONE',
    bigint: 'BIGINT',
    idValue: (sequence) => `nextval('${sequence}')`,
    beginWrite: 'BEGIN',
  },
};

/** `?` placeholders → `$1, $2, …` (PostgreSQL). Statements here never hold a literal `?`. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** A column celeriac adds to a table Python may have created first; added with ALTER TABLE when missing. */
export interface AddedColumn {
  /** The table Python's model creates (e.g. kombu_message). */
  readonly table: string;
  /** The column's name. */
  readonly name: string;
  /** Its type and constraints, e.g. `INTEGER NOT NULL DEFAULT 0` (must allow rows written by Python). */
  readonly definition: string;
}

/** What a store creates when missing: tables, then the added columns, then indexes (which may use those columns). */
export interface SqlSchema {
  readonly tables: readonly string[];
  readonly columns: readonly AddedColumn[];
  readonly indexes: readonly string[];
}

/** Python's naive datetime text: `2026-11-25 02:53:34.141092` (SQL-WIRE.md). `utc` false = local wall clock. */
export function sqlDateTime(date: Date, utc: boolean): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const [y, mo, d, h, mi, s, ms] = utc
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds(), date.getMilliseconds()];
  return `${p(y, 4)}-${p(mo)}-${p(d)} ${p(h)}:${p(mi)}:${p(s)}.${p(ms, 3)}000`;
}
