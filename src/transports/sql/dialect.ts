// The SQL shared by the SQLite (and, later, PostgreSQL) broker and result backend: kombu's and Celery's tables as
// Python creates them (SQL-WIRE.md), the nullable/defaulted columns and small tables celeriac adds, and the
// statements that use them. Text only: no driver, no I/O. Statements use `?` placeholders (see numbered()).

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
  readonly table: string;
  readonly name: string;
  readonly definition: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Broker: kombu's SQL transport tables (SQL-WIRE.md §1) plus celeriac's additions.
//
// Added to kombu_message (Python's INSERT names its own columns only, so defaults and NULLs apply to its rows):
//   priority  INTEGER NOT NULL DEFAULT 0   higher is taken first (kombu ignores priority)
//   taken_at  epoch ms, NULL               set by celeriac's take: the row is unacked, not acked. Python's taken
//                                          rows keep NULL and are never restored (a Python worker never acks).
//   due_at    epoch ms, NULL               deferred until then (ETA): the row stays visible = false so a Python
//                                          worker does not take it early; releaseDue makes it visible again.
// Ack deletes the row (kombu leaves it invisible forever). Tables of our own: celeriac_binding (exchange →
// queue routing), celeriac_broadcast (fanout for remote control and events, polled by listeners).
// ---------------------------------------------------------------------------------------------------------------

export function brokerSchema(d: DialectProfile): string[] {
  const pg = d.name === 'postgresql';
  return [
    ...(pg ? ['CREATE SEQUENCE IF NOT EXISTS queue_id_sequence', 'CREATE SEQUENCE IF NOT EXISTS message_id_sequence'] : []),
    `CREATE TABLE IF NOT EXISTS kombu_queue (\n\tid ${d.idColumn}, \n\tname VARCHAR(200), \n\tUNIQUE (name)\n)`,
    `CREATE TABLE IF NOT EXISTS kombu_message (\n\tid ${d.idColumn}, \n\tvisible BOOLEAN, \n\ttimestamp ${d.datetime}, \n\tpayload TEXT NOT NULL, \n\tversion SMALLINT NOT NULL, \n\tqueue_id INTEGER, \n\tCONSTRAINT "FK_kombu_message_queue" FOREIGN KEY(queue_id) REFERENCES kombu_queue (id)\n)`,
    'CREATE INDEX IF NOT EXISTS ix_kombu_message_visible ON kombu_message (visible)',
    'CREATE INDEX IF NOT EXISTS ix_kombu_message_timestamp_id ON kombu_message (timestamp, id)',
    'CREATE INDEX IF NOT EXISTS ix_kombu_message_timestamp ON kombu_message (timestamp)',
    `CREATE TABLE IF NOT EXISTS celeriac_binding (exchange VARCHAR(200) NOT NULL, routing_key VARCHAR(200) NOT NULL, pattern VARCHAR(200) NOT NULL, queue VARCHAR(200) NOT NULL, PRIMARY KEY (exchange, routing_key, pattern, queue))`,
    `CREATE TABLE IF NOT EXISTS celeriac_broadcast (id ${pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT'}, exchange VARCHAR(200) NOT NULL, payload TEXT NOT NULL, created_at ${d.bigint} NOT NULL)`,
  ];
}

export const BROKER_ADDED_COLUMNS = (d: DialectProfile): AddedColumn[] => [
  { table: 'kombu_message', name: 'priority', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'kombu_message', name: 'taken_at', definition: d.bigint },
  { table: 'kombu_message', name: 'due_at', definition: d.bigint },
];

/** Indexes on the added columns, created after the columns exist. */
export const BROKER_INDEXES = [
  'CREATE INDEX IF NOT EXISTS ix_celeriac_message_take ON kombu_message (queue_id, visible, priority DESC, id)',
  'CREATE INDEX IF NOT EXISTS ix_celeriac_message_taken ON kombu_message (taken_at) WHERE taken_at IS NOT NULL',
  'CREATE INDEX IF NOT EXISTS ix_celeriac_message_due ON kombu_message (due_at) WHERE due_at IS NOT NULL',
  'CREATE INDEX IF NOT EXISTS ix_celeriac_broadcast_exchange ON celeriac_broadcast (exchange, id)',
];

/** Broker statements (dialect-neutral, `?` placeholders). */
export const BROKER_SQL = {
  queueId: 'SELECT id FROM kombu_queue WHERE name = ?',
  insertQueue: (d: DialectProfile) => {
    const id = d.idValue('queue_id_sequence');
    return `INSERT INTO kombu_queue (${id ? 'id, ' : ''}name) VALUES (${id ? `${id}, ` : ''}?) ON CONFLICT (name) DO NOTHING`;
  },
  // Python's INSERT: visible true, version 1, timestamp NULL (SQL-WIRE.md §1 Publish).
  insertMessage: (d: DialectProfile) => {
    const id = d.idValue('message_id_sequence');
    return `INSERT INTO kombu_message (${id ? 'id, ' : ''}visible, timestamp, payload, version, queue_id, priority) VALUES (${id ? `${id}, ` : ''}?, NULL, ?, 1, ?, ?)`;
  },
  anyVisible: (queueCount: number) =>
    `SELECT 1 FROM kombu_message WHERE queue_id IN (${Array.from({ length: queueCount }, () => '?').join(', ')}) AND visible = ? LIMIT 1`,
  // Higher priority first, then FIFO by id; requeued rows keep their id, so they return to the head.
  selectWaiting: 'SELECT id, payload FROM kombu_message WHERE queue_id = ? AND visible = ? ORDER BY priority DESC, id LIMIT ?',
  // `timestamp` and `version` change as Python's take changes them; taken_at marks the row as celeriac-unacked.
  markTaken: 'UPDATE kombu_message SET visible = ?, timestamp = ?, version = version + 1, taken_at = ? WHERE id = ?',
  ack: 'DELETE FROM kombu_message WHERE id = ?',
  selectTaken: 'SELECT id, payload FROM kombu_message WHERE id = ? AND taken_at IS NOT NULL',
  // Back to waiting: timestamp NULL again, so a Python consumer (ORDER BY timestamp, id) also sees it at the head.
  makeVisible: 'UPDATE kombu_message SET visible = ?, timestamp = NULL, version = version + 1, taken_at = NULL, due_at = NULL, payload = ? WHERE id = ?',
  selectExpired: 'SELECT id, payload FROM kombu_message WHERE taken_at IS NOT NULL AND taken_at <= ?',
  defer: 'UPDATE kombu_message SET taken_at = NULL, due_at = ?, version = version + 1 WHERE id = ? AND taken_at IS NOT NULL',
  releaseDue: 'UPDATE kombu_message SET visible = ?, timestamp = NULL, version = version + 1, due_at = NULL WHERE due_at IS NOT NULL AND due_at <= ?',
  size: 'SELECT COUNT(*) AS n FROM kombu_message WHERE queue_id = ? AND visible = ?',
  purge: 'DELETE FROM kombu_message WHERE queue_id = ? AND visible = ?',
  addBinding: 'INSERT INTO celeriac_binding (exchange, routing_key, pattern, queue) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
  removeBinding: 'DELETE FROM celeriac_binding WHERE exchange = ? AND routing_key = ? AND pattern = ? AND queue = ?',
  listBindings: 'SELECT exchange, routing_key, pattern, queue FROM celeriac_binding WHERE exchange = ? ORDER BY queue, routing_key',
  publishBroadcast: 'INSERT INTO celeriac_broadcast (exchange, payload, created_at) VALUES (?, ?, ?)',
  lastBroadcast: 'SELECT COALESCE(MAX(id), 0) AS id FROM celeriac_broadcast',
  readBroadcast: 'SELECT id, exchange, payload FROM celeriac_broadcast WHERE id > ? ORDER BY id LIMIT 500',
  pruneBroadcast: 'DELETE FROM celeriac_broadcast WHERE created_at < ?',
} as const;

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

/** Python's naive datetime text: `2026-11-25 02:53:34.141092` (SQL-WIRE.md). `utc` false = local wall clock. */
export function sqlDateTime(date: Date, utc: boolean): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const [y, mo, d, h, mi, s, ms] = utc
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds(), date.getMilliseconds()];
  return `${p(y, 4)}-${p(mo)}-${p(d)} ${p(h)}:${p(mi)}:${p(s)}.${p(ms, 3)}000`;
}

/** A delivery tag of the SQL stores is the message row id; anything else (a tag of another store) is no row. */
export function tagId(tag: string): number | undefined {
  const id = Number(tag);
  return tag !== '' && Number.isSafeInteger(id) ? id : undefined;
}
