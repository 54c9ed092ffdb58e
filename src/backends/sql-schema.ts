// The SQL of the SQL result backends (SQLite and PostgreSQL): Celery's database backend tables as Python creates
// them (SQL-WIRE.md §2), the column and tables celeriac adds, and the statements that use them. Text only: no
// driver, no I/O. Statements use `?` placeholders (drivers/sql-dialect.ts numbered()).

import type { AddedColumn, DialectProfile } from '../drivers/sql-dialect.js';

// ---------------------------------------------------------------------------------------------------------------
// Result backend: Celery's database backend tables (SQL-WIRE.md §2) plus celeriac's additions.
//
// Added to celery_taskmeta:  celeriac_meta TEXT, NULL — JSON {children, parent_id, group_id}, which Python's
//                            model has no column for; Python ignores it, and its own rows leave it NULL.
// Tables of our own:         celeriac_chord (group_id → header size) and celeriac_chord_part (one row per finished
//                            header task), the chord counter Celery's database backend lacks (it polls with
//                            celery.chord_unlock instead).
// celery_tasksetmeta.result: celeriac writes a pickled plain dict {'result': [[gid, None], [[[id, None], None], …]]},
//                            not a GroupResult object; Python's saved groups (pickled objects) are not read.
// ---------------------------------------------------------------------------------------------------------------

/** CREATE statements for Celery's result tables and celeriac's chord tables in dialect `d`, idempotent. */
export function resultSchema(d: DialectProfile): string[] {
  const pg = d.name === 'postgresql';
  return [
    ...(pg ? ['CREATE SEQUENCE IF NOT EXISTS task_id_sequence', 'CREATE SEQUENCE IF NOT EXISTS taskset_id_sequence'] : []),
    `CREATE TABLE IF NOT EXISTS celery_taskmeta (\n\tid ${d.idColumn}, \n\ttask_id VARCHAR(155), \n\tstatus VARCHAR(50), \n\tresult ${d.blob}, \n\tdate_done ${d.datetime}, \n\ttraceback TEXT, \n\tname VARCHAR(155), \n\targs ${d.blob}, \n\tkwargs ${d.blob}, \n\tworker VARCHAR(155), \n\tretries INTEGER, \n\tqueue VARCHAR(155), \n\tUNIQUE (task_id)\n)`,
    `CREATE TABLE IF NOT EXISTS celery_tasksetmeta (\n\tid ${d.idColumn}, \n\ttaskset_id VARCHAR(155), \n\tresult ${d.blob}, \n\tdate_done ${d.datetime}, \n\tUNIQUE (taskset_id)\n)`,
    `CREATE TABLE IF NOT EXISTS celeriac_chord (group_id VARCHAR(155) NOT NULL PRIMARY KEY, size INTEGER NOT NULL, created_at ${d.bigint} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS celeriac_chord_part (group_id VARCHAR(155) NOT NULL, idx INTEGER NOT NULL, task_id VARCHAR(155) NOT NULL, state VARCHAR(50) NOT NULL, result ${d.blob}, PRIMARY KEY (group_id, idx))`,
  ];
}

/** Columns celeriac adds to celery_taskmeta when Python created it first (celeriac_meta). */
export const RESULT_ADDED_COLUMNS: AddedColumn[] = [{ table: 'celery_taskmeta', name: 'celeriac_meta', definition: 'TEXT' }];

const TASK_COLUMNS = 'task_id, status, result, date_done, traceback, name, args, kwargs, worker, retries, queue, celeriac_meta';

/** Result statements (dialect-neutral, `?` placeholders). */
export const RESULT_SQL = {
  // One statement: insert, or update unless the stored state is SUCCESS (Celery never overwrites a SUCCESS).
  upsertTask: (d: DialectProfile) => {
    const id = d.idValue('task_id_sequence');
    const sets = TASK_COLUMNS.split(', ').slice(1).map((c) => `${c} = excluded.${c}`).join(', ');
    return `INSERT INTO celery_taskmeta (${id ? 'id, ' : ''}${TASK_COLUMNS}) VALUES (${id ? `${id}, ` : ''}?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
      `ON CONFLICT (task_id) DO UPDATE SET ${sets} WHERE celery_taskmeta.status IS NULL OR celery_taskmeta.status <> 'SUCCESS'`;
  },
  getTask: `SELECT ${TASK_COLUMNS} FROM celery_taskmeta WHERE task_id = ?`,
  deleteTask: 'DELETE FROM celery_taskmeta WHERE task_id = ?',
  upsertGroup: (d: DialectProfile) => {
    const id = d.idValue('taskset_id_sequence');
    return `INSERT INTO celery_tasksetmeta (${id ? 'id, ' : ''}taskset_id, result, date_done) VALUES (${id ? `${id}, ` : ''}?, ?, ?) ` +
      'ON CONFLICT (taskset_id) DO UPDATE SET result = excluded.result, date_done = excluded.date_done';
  },
  getGroup: 'SELECT result FROM celery_tasksetmeta WHERE taskset_id = ?',
  deleteGroup: 'DELETE FROM celery_tasksetmeta WHERE taskset_id = ?',
  setChordSize: 'INSERT INTO celeriac_chord (group_id, size, created_at) VALUES (?, ?, ?) ON CONFLICT (group_id) DO UPDATE SET size = excluded.size',
  chordSize: 'SELECT size FROM celeriac_chord WHERE group_id = ?',
  // A redelivered header task records its part again without counting twice.
  addChordPart: 'INSERT INTO celeriac_chord_part (group_id, idx, task_id, state, result) VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id, idx) DO UPDATE SET task_id = excluded.task_id, state = excluded.state, result = excluded.result',
  countChordParts: 'SELECT COUNT(*) AS n FROM celeriac_chord_part WHERE group_id = ?',
  chordParts: 'SELECT idx, task_id, state, result FROM celeriac_chord_part WHERE group_id = ? ORDER BY idx',
  deleteChordParts: 'DELETE FROM celeriac_chord_part WHERE group_id = ?',
  deleteChord: 'DELETE FROM celeriac_chord WHERE group_id = ?',
  // celery.backend_cleanup's rule: rows whose date_done is older than result_expires.
  expireTasks: 'DELETE FROM celery_taskmeta WHERE date_done < ?',
  expireGroups: 'DELETE FROM celery_tasksetmeta WHERE date_done < ?',
  expireChords: 'DELETE FROM celeriac_chord WHERE created_at < ?',
} as const;
