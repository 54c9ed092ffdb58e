// The PostgreSQL broker and result backend against the shared contracts, in a database of this file's own on the
// suite's private PostgreSQL cluster (created here, dropped afterwards).

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { createBackend } from '../../src/backends/postgres.js';
import { createTransport } from '../../src/transports/sql/postgres.js';
import { describeBackendConformance } from './backend.suite.js';
import { describeTransportConformance } from './transport.suite.js';

const adminUrl = inject('postgresUrl');
const dbName = `celeriac_conf_${randomBytes(6).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
await admin.end();
const parsed = new URL(adminUrl);
parsed.pathname = `/${dbName}`;
const url = parsed.toString();

afterAll(async () => {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  await c.end();
});

describeTransportConformance('postgres', {
  open: async () => {
    const t = await createTransport({ url, transportOptions: { deferral_check_interval: 0.1 } });
    await t.connect();
    return t;
  },
  priorityOrder: 'higher-first',
});

describeBackendConformance('postgres', {
  open: async () => createBackend({ url, serializer: 'json', options: {}, extended: false }),
});
