// The memcached result backend (cache+memcached://) against the shared contract, on the suite's memcached.

import { inject } from 'vitest';
import { openBackend } from '../../src/backends/index.js';
import { describeBackendConformance } from './backend.suite.js';

describeBackendConformance('memcached', {
  open: () => openBackend({ url: `cache+${inject('memcachedUrl')}`, serializer: 'json', options: {}, extended: false, expiresMs: 86_400_000 }),
});
