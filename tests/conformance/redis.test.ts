// The Redis broker and result backend against the shared contracts, on the suite's redis-server (db 10 for the
// broker, db 11 for results). On Redis a LOWER priority number is served first (kombu's order).

import { inject } from 'vitest';
import { openBackend } from '../../src/backends/index.js';
import { openTransport } from '../../src/transports/index.js';
import { describeBackendConformance } from './backend.suite.js';
import { describeTransportConformance } from './transport.suite.js';

const base = inject('redisUrl').replace(/\/\d+$/, '');

describeTransportConformance('redis', {
  open: async (extra = {}) => {
    const t = await openTransport({ url: `${base}/10`, transportOptions: { deferral_check_interval: 0.1, ...extra } });
    await t.connect();
    return t;
  },
  priorityOrder: 'lower-first',
});

describeBackendConformance('redis', {
  open: () => openBackend({ url: `${base}/11`, serializer: 'json', options: {}, extended: false }),
});
