// The PostgreSQL broker and result backend against the shared contracts, in a database of this file's own on the
// suite's private PostgreSQL cluster (created here, dropped afterwards).

import { afterAll, inject } from 'vitest';
import { createBackend } from '../../src/backends/postgres.js';
import { createTransport } from '../../src/transports/sql/postgres.js';
import { describeBackendConformance } from './backend.suite.js';
import { describeTransportConformance } from './transport.suite.js';
import { createTestDatabase } from '../support/postgres.js';

const database = await createTestDatabase(inject('postgresUrl'), 'celeriac_conf');
const url = database.url;
afterAll(() => database.drop());

describeTransportConformance('postgres', {
  open: async (extra = {}) => {
    const t = await createTransport({ url, transportOptions: { deferral_check_interval: 0.1, ...extra } });
    await t.connect();
    return t;
  },
  priorityOrder: 'higher-first',
});

describeBackendConformance('postgres', {
  open: async () => createBackend({ url, serializer: 'json', options: {}, extended: false }),
});
