// The embedded SQLite broker and result backend against the shared contracts, on one temporary file.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openBackend } from '../../src/backends/index.js';
import { openTransport } from '../../src/transports/index.js';
import { describeBackendConformance } from './backend.suite.js';
import { describeTransportConformance } from './transport.suite.js';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-sqlite-conf-'));
const url = `sqlite:///${join(dir, 'broker.db')}`; // sqlite:/// + absolute path = sqlite:////abs/…

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeTransportConformance('sqlite', {
  open: async (extra = {}) => {
    const t = await openTransport({ url, transportOptions: { deferral_check_interval: 0.1, ...extra } });
    await t.connect();
    return t;
  },
  priorityOrder: 'higher-first',
});

describeBackendConformance('sqlite', {
  open: () => openBackend({ url: `db+sqlite:///${join(dir, 'results.db')}`, serializer: 'json', options: {}, extended: false }),
});
