// SQLite files for the embedded broker (transports/sql/sqlite.ts) and the SQL result backend (backends/sql.ts):
// which file a sqlite:// URL names, opening it for several processes at once, and which driver errors mean
// "busy, try again". No tables of its own: callers pass their schema.

import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { redactUrl } from '../config/urls.js';
import { OperationalError } from '../errors.js';
import type { SqlSchema } from './sql-dialect.js';

/**
 * The SQLite file named by a `sqlite://` URL (also `sqla+sqlite://`, `db+sqlite://`), relative to the working
 * directory unless absolute. SQLAlchemy's rules, plus celeriac's host-part form and default:
 * `sqlite://celeriac.db` → `celeriac.db`; `sqlite:///rel.db` → `rel.db`; `sqlite:////abs/x.db` → `/abs/x.db`;
 * `sqlite://` → `celeriac.db`; `sqlite://:memory:` → `:memory:`. Query strings are ignored.
 */
export function sqliteFileOf(url: string): string {
  let rest = url.trim().replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  const cut = rest.search(/[?#]/);
  if (cut >= 0) rest = rest.slice(0, cut);
  if (rest.startsWith('/')) rest = rest.slice(1);
  if (rest === '') return 'celeriac.db';
  try {
    return decodeURIComponent(rest);
  } catch {
    return rest;
  }
}

/**
 * Open a SQLite file for several processes at once (WAL, busy_timeout, NORMAL sync) and create the given tables if
 * missing, adding celeriac's extra columns to tables Python created first. One IMMEDIATE transaction, so processes
 * starting together do not race. Shared with the SQL result backend.
 */
export function openSqliteDatabase(
  file: string,
  url: string,
  schema: SqlSchema,
  busyTimeoutMs = 5_000,
): Database.Database {
  // Processes opening a new file together can meet SQLITE_BUSY where SQLite does not wait (switching the journal to
  // WAL): try again, briefly, until busy_timeout has passed.
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      return openOnce(file, url, schema, busyTimeoutMs);
    } catch (error) {
      if (!isSqliteBusy((error as { cause?: unknown }).cause) || Date.now() >= deadline) throw error;
      Atomics.wait(PAUSE, 0, 0, 20 + Math.random() * 30);
    }
  }
}

// A synchronous pause for the retry above (start-up only; opening is synchronous in better-sqlite3).
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

function openOnce(file: string, url: string, schema: SqlSchema, busyTimeoutMs: number): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
    if (file !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    db.pragma('synchronous = NORMAL');
    const conn = db;
    conn.transaction(() => {
      for (const sql of schema.tables) conn.exec(sql);
      const byTable = new Map<string, Set<string>>();
      for (const col of schema.columns) {
        let have = byTable.get(col.table);
        if (!have) {
          have = new Set((conn.pragma(`table_info(${col.table})`) as Array<{ name: string }>).map((c) => c.name));
          byTable.set(col.table, have);
        }
        if (!have.has(col.name)) conn.exec(`ALTER TABLE ${col.table} ADD COLUMN ${col.name} ${col.definition}`);
      }
      for (const sql of schema.indexes) conn.exec(sql);
    }).immediate();
    nameFileInErrors(db, file);
    return db;
  } catch (cause) {
    db?.close();
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new OperationalError(`Cannot open the SQLite database ${file} (${redactUrl(url)}): ${message}. ${missingDirectoryHint(file, url) ?? 'Check that its directory exists and is writable.'}`, { cause, context: { url: redactUrl(url) } });
  }
}

/** What to do about SQLite failures a user can fix, by code (better-sqlite3's `code`). */
const ADVICE: Readonly<Record<string, string>> = {
  SQLITE_FULL: 'The disk holding it is full (or the database hit max_page_count): free space, then retry.',
  SQLITE_READONLY: 'This process cannot write it: check the permissions of the file, its -wal/-shm files and its directory, and that the file system is not mounted read-only.',
  SQLITE_CANTOPEN: 'Check that the file and its directory exist and are readable and writable by this process.',
  SQLITE_CORRUPT: 'The file is damaged: restore it from a backup, or move it away to start with an empty database.',
  SQLITE_NOTADB: 'The file is not a SQLite database: check the URL.',
  SQLITE_IOERR: 'The disk reported an I/O error: check the file system and the kernel log.',
};

/**
 * Make every error a statement, exec, pragma or transaction of `db` throws name the database file (SQLite's own
 * text, "database or disk is full", names nothing), with what to do for the codes a user can fix. In place: the
 * error keeps its class and code, so busy detection and callers' handling are unchanged.
 */
function nameFileInErrors(db: Database.Database, file: string): void {
  const where = file === ':memory:' ? 'the in-memory SQLite database' : `the SQLite database ${resolve(file)}`;
  const explain = (error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code;
    if (!(error instanceof Error) || typeof code !== 'string' || !code.startsWith('SQLITE_') || error.message.includes(where)) return;
    // Extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED) share their primary code's advice.
    const advice = ADVICE[code] ?? ADVICE[code.split('_').slice(0, 2).join('_')] ?? '';
    error.message = `${error.message.replace(/\.$/, '')} (${where}).${advice ? ` ${advice}` : ''}`;
  };
  const guard = <F extends (...args: never[]) => unknown>(fn: F, self: unknown): F =>
    function guarded(...args: Parameters<F>) {
      try {
        return fn.apply(self, args);
      } catch (error) {
        explain(error);
        throw error;
      }
    } as F;
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const statement = prepare(sql);
    statement.run = guard(statement.run, statement);
    statement.get = guard(statement.get, statement);
    statement.all = guard(statement.all, statement);
    return statement;
  }) as typeof db.prepare;
  db.exec = guard(db.exec, db);
  db.pragma = guard(db.pragma, db);
  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const t = transaction(fn);
    return Object.assign(guard(t, t), { default: guard(t.default, t), deferred: guard(t.deferred, t), immediate: guard(t.immediate, t), exclusive: guard(t.exclusive, t) });
  }) as typeof db.transaction;
}

/** When the file's directory does not exist: say where it was looked for, and SQLAlchemy's slash rule. */
function missingDirectoryHint(file: string, url: string): string | undefined {
  if (file === ':memory:') return undefined;
  const dir = dirname(resolve(file));
  if (existsSync(dir)) return undefined;
  const threeSlashes = !isAbsolute(file) && /^[^:]+:\/\/\/(?!\/)/.test(url);
  return `The directory ${dir} does not exist: create it or fix the URL.${threeSlashes ? ` sqlite:///${file} (three slashes) is relative to the working directory ${process.cwd()}; for the absolute path /${file} write sqlite:////${file} (four slashes).` : ''}`;
}

/** SQLite's "another connection holds the lock" codes (after busy_timeout ran out): worth a retry, not a failure. */
const BUSY_CODES: ReadonlySet<string> = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);

/** Whether a better-sqlite3 error means the database was busy (SQLITE_BUSY, SQLITE_LOCKED). Never throws. */
export function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && BUSY_CODES.has(code);
}
