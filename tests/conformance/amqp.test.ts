// The native AMQP transport against the shared transport contract, on the suite's real RabbitMQ.

import { inject } from 'vitest';
import { createTransport } from '../../src/transports/amqp/index.js';
import { describeTransportConformance } from './transport.suite.js';

const url = inject('amqpUrl');

describeTransportConformance('amqp', {
  open: async () => {
    const t = await createTransport({ url, transportOptions: {} });
    await t.connect();
    return t;
  },
  priorityOrder: 'higher-first',
});
