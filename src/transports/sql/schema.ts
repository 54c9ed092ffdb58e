// The SQL of the SQL broker (SQLite and PostgreSQL): kombu's SQL transport tables as Python creates them
// (SQL-WIRE.md §1), the nullable/defaulted columns and small tables celeriac adds, and the statements that use them.
// Text only: no driver, no I/O. Statements use `?` placeholders (drivers/sql-dialect.ts numbered()).

import type { AddedColumn, DialectProfile } from '../../drivers/sql-dialect.js';

// ---------------------------------------------------------------------------------------------------------------
// Broker: kombu's SQL transport tables (SQL-WIRE.md §1) plus celeriac's additions.
//
// Added to kombu_message (Python's INSERT names its own columns only, so defaults and NULLs apply to its rows):
//   priority  INTEGER NOT NULL DEFAULT 0   higher is taken first (kombu ignores priority)
//   taken_at  epoch ms, NULL               set by celeriac's take: the row is unacked, not acked. Python's taken
//                                          rows keep NULL and are never restored (a Python worker never acks).
//   due_at    epoch ms, NULL               deferred until then (ETA): the row stays visible = false so a Python
//                                          worker does not take it early; releaseDue makes it visible again.
//   lease_id  VARCHAR, NULL                the worker lease the taken row is held under: restored when that lease
//                                          expires (not by the visibility timeout); settles under a lease act only
//                                          while the row is still held by it.
// Ack deletes the row (kombu leaves it invisible forever). Tables of our own: celeriac_binding (exchange →
// queue routing), celeriac_broadcast (fanout for remote control and events, polled by listeners), celeriac_lease
// (worker leases: id, expires_at epoch ms; PostgreSQL judges expiry on its own clock).
// ---------------------------------------------------------------------------------------------------------------

/** CREATE statements for kombu's SQL transport tables and celeriac's binding/broadcast tables, idempotent. */
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
    `CREATE TABLE IF NOT EXISTS celeriac_lease (id VARCHAR(255) NOT NULL PRIMARY KEY, expires_at ${d.bigint} NOT NULL)`,
  ];
}

/** Columns celeriac adds to kombu_message when Python created it first (priority, taken_at, due_at, lease_id). */
export const BROKER_ADDED_COLUMNS = (d: DialectProfile): AddedColumn[] => [
  { table: 'kombu_message', name: 'priority', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'kombu_message', name: 'taken_at', definition: d.bigint },
  { table: 'kombu_message', name: 'due_at', definition: d.bigint },
  { table: 'kombu_message', name: 'lease_id', definition: 'VARCHAR(255)' },
];

/** Indexes on the added columns, created after the columns exist. */
export const BROKER_INDEXES = [
  'CREATE INDEX IF NOT EXISTS ix_celeriac_message_take ON kombu_message (queue_id, visible, priority DESC, id)',
  'CREATE INDEX IF NOT EXISTS ix_celeriac_message_taken ON kombu_message (taken_at) WHERE taken_at IS NOT NULL',
  'CREATE INDEX IF NOT EXISTS ix_celeriac_message_due ON kombu_message (due_at) WHERE due_at IS NOT NULL',
  'CREATE INDEX IF NOT EXISTS ix_celeriac_broadcast_exchange ON celeriac_broadcast (exchange, id)',
  'CREATE INDEX IF NOT EXISTS ix_celeriac_message_lease ON kombu_message (lease_id) WHERE lease_id IS NOT NULL',
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
  markTaken: 'UPDATE kombu_message SET visible = ?, timestamp = ?, version = version + 1, taken_at = ?, lease_id = ? WHERE id = ?',
  ack: 'DELETE FROM kombu_message WHERE id = ?',
  // Under a lease (the lease id given twice; NULL = no lease, unconditional): only while that lease holds the row.
  ackHeld: 'DELETE FROM kombu_message WHERE id = ? AND (? IS NULL OR lease_id = ?)',
  selectTaken: 'SELECT id, payload FROM kombu_message WHERE id = ? AND taken_at IS NOT NULL AND (? IS NULL OR lease_id = ?)',
  // Back to waiting: timestamp NULL again, so a Python consumer (ORDER BY timestamp, id) also sees it at the head.
  makeVisible: 'UPDATE kombu_message SET visible = ?, timestamp = NULL, version = version + 1, taken_at = NULL, due_at = NULL, lease_id = NULL, payload = ? WHERE id = ?',
  // The visibility timeout applies to rows held without a lease only; leased rows follow their lease.
  selectExpired: 'SELECT id, payload FROM kombu_message WHERE taken_at IS NOT NULL AND taken_at <= ? AND lease_id IS NULL',
  defer: 'UPDATE kombu_message SET taken_at = NULL, lease_id = NULL, due_at = ?, version = version + 1 WHERE id = ? AND taken_at IS NOT NULL AND (? IS NULL OR lease_id = ?)',
  leaseOpen: 'INSERT INTO celeriac_lease (id, expires_at) VALUES (?, ?)',
  leaseRenew: 'UPDATE celeriac_lease SET expires_at = ? WHERE id = ?',
  leaseDelete: 'DELETE FROM celeriac_lease WHERE id = ?',
  leaseExists: 'SELECT 1 AS found FROM celeriac_lease WHERE id = ?',
  leaseDeleteExpired: 'DELETE FROM celeriac_lease WHERE expires_at <= ?',
  // Rows held under a lease that no longer exists (expired and deleted, or a take that raced the sweep).
  selectOrphaned: 'SELECT id, payload, lease_id FROM kombu_message WHERE lease_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM celeriac_lease l WHERE l.id = kombu_message.lease_id) LIMIT 1000',
  selectLeased: 'SELECT id, payload, lease_id FROM kombu_message WHERE lease_id = ?',
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

/** A delivery tag of the SQL stores is the message row id; anything else (a tag of another store) is no row. */
export function tagId(tag: string): number | undefined {
  const id = Number(tag);
  return tag !== '' && Number.isSafeInteger(id) ? id : undefined;
}
