// PostgreSQL connections on node-postgres, shared by the SQL broker (transports/sql/postgres.ts) and the result
// backend (backends/postgres.ts): pool settings from a URL, which errors mean "connection lost", wrapping them
// without passwords, and creating a schema under an advisory lock. The LISTEN connection is postgres-listen.ts.

import pg from 'pg';
import { censorWhenInspected } from '../config/humanize.js';
import { redactText, redactUrl } from '../config/urls.js';
import { OperationalError } from '../errors.js';
import { NETWORK_ERROR_CODES } from './network-errors.js';
import type { SqlSchema } from './sql-dialect.js';

/**
 * pg_advisory_xact_lock keys serialising schema creation ('cel' + 1 for the broker's tables, + 2 for the result
 * tables), so processes starting together do not fail on each other's CREATE.
 */
export const SCHEMA_LOCKS = { broker: 0x63656c01, results: 0x63656c02 } as const;

/** node-postgres connection settings for a broker/backend URL and its options. */
export function pgConfig(url: string, options: Readonly<Record<string, unknown>> = {}): pg.PoolConfig {
  // sqla+postgresql://, db+postgresql://, postgresql+psycopg2:// → postgresql://
  const connectionString = url.trim()
    .replace(/^(?:sqla|db)\+/i, '')
    .replace(/^(postgres(?:ql)?)\+[A-Za-z0-9_]+:\/\//i, '$1://')
    .replace(/^postgres:\/\//i, 'postgresql://');
  const config: pg.PoolConfig = { connectionString, application_name: 'celeriac' };
  const ssl = options.ssl ?? options.ssl_options;
  if (ssl !== undefined && ssl !== null && ssl !== false) config.ssl = ssl === true ? {} : (ssl as pg.PoolConfig['ssl']);
  const size = Number(options.pool_size ?? options.max_connections ?? 10);
  config.max = Number.isFinite(size) && size >= 1 ? Math.floor(size) : 10;
  const timeout = Number(options.connect_timeout ?? 10);
  config.connectionTimeoutMillis = Number.isFinite(timeout) && timeout > 0 ? Math.round(timeout * 1000) : 10_000;
  config.idleTimeoutMillis = 30_000;
  return censorWhenInspected(config);
}

/**
 * A node-postgres pool for a broker/backend URL (pgConfig). Printed (console.log, util.inspect), the pool and its
 * options show the URL's password censored.
 */
export function openPgPool(url: string, options: Readonly<Record<string, unknown>> = {}): pg.Pool {
  const pool = new pg.Pool(pgConfig(url, options));
  censorWhenInspected((pool as unknown as { options: object }).options);
  return censorWhenInspected(pool);
}

/** Server-side SQLSTATEs that end a connection, on top of the socket codes and class 08 (connection exception). */
const CONNECTION_SQLSTATES: ReadonlySet<string> = new Set([
  '57P01', '57P02', '57P03', // admin_shutdown, crash_shutdown, cannot_connect_now
  '53300', // too_many_connections
]);
const CONNECTION_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|not queryable/i;

/** A connection-level failure worth retrying (kombu's connection_errors): network, shutdown, SQLSTATE class 08. */
export function isPgConnectionError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_ERROR_CODES.has(code) || CONNECTION_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
  }
  return false;
}

/** Failures that mean "the server cannot be used with these settings": wrapped in OperationalError too. */
function isPgSetupError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // invalid_authorization_specification / invalid_password, invalid_catalog_name (no such database)
  return typeof code === 'string' && (/^28/.test(code) || code === '3D000');
}

/** Connection errors become OperationalError naming the redacted URL (never the password); others pass through. */
export function wrapPgError(error: unknown, url: string, what: string): unknown {
  if (error instanceof OperationalError) return error;
  if (!isPgConnectionError(error) && !isPgSetupError(error)) return error;
  const message = redactText(error instanceof Error ? error.message : String(error));
  const display = redactUrl(url);
  return new OperationalError(`Cannot reach the PostgreSQL ${what} at ${display}: ${message}. Check that the server is running and the URL, user and database are right.`, { cause: error, context: { url: display } });
}

/**
 * Create the given tables, columns and indexes if missing, in one transaction holding an advisory lock so that
 * processes starting together do not fail on each other's CREATE (CREATE … IF NOT EXISTS alone races on pg_type).
 */
export async function ensurePgSchema(
  pool: pg.Pool,
  lockKey: number,
  schema: SqlSchema,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
      for (const sql of schema.tables) await client.query(sql);
      for (const col of schema.columns) await client.query(`ALTER TABLE ${col.table} ADD COLUMN IF NOT EXISTS ${col.name} ${col.definition}`);
      for (const sql of schema.indexes) await client.query(sql);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    client.release();
  } catch (error) {
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}
