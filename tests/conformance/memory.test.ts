// The in-process broker and result store against the shared contracts.

import { randomUUID } from 'node:crypto';
import { openBackend } from '../../src/backends/index.js';
import { openTransport } from '../../src/transports/index.js';
import { describeBackendConformance } from './backend.suite.js';
import { describeTransportConformance } from './transport.suite.js';

const broker = `memory://conformance-${randomUUID()}`;

describeTransportConformance('memory', {
  open: async (extra = {}) => {
    const t = await openTransport({ url: broker, transportOptions: { deferral_check_interval: 0.1, ...extra } });
    await t.connect();
    return t;
  },
  priorityOrder: 'higher-first',
});

describeBackendConformance('memory', {
  open: () => openBackend({ url: broker, serializer: 'json', options: {}, extended: false }),
});
