import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no server; `servers` gets real redis-server, rabbitmq-server, PostgreSQL, memcached and
// the Python Celery harness from tests/support/global-setup.ts (a missing one fails the run, never skips).
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: two test files at a time keeps servers, workers and the runner from starving each other.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts', 'tests/conformance/memory.test.ts', 'tests/conformance/sqlite.test.ts', 'tests/conformance/file.test.ts'] },
      },
      {
        // The time and date tests again, on a machine clock nine hours east of UTC (naive times must stay UTC).
        extends: true,
        test: {
          name: 'tokyo',
          include: ['tests/tz/*.test.ts', 'tests/unit/utils/**/*.test.ts', 'tests/unit/protocol/task-message.test.ts', 'tests/unit/worker/wire-times.test.ts', 'tests/unit/worker/rate-limit.test.ts'],
          env: { TZ: 'Asia/Tokyo' },
        },
      },
      {
        extends: true,
        test: {
          name: 'servers',
          include: ['tests/conformance/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/interop/**/*.test.ts', 'tests/newcomer/**/*.test.ts'],
          exclude: ['tests/conformance/memory.test.ts', 'tests/conformance/sqlite.test.ts', 'tests/conformance/file.test.ts'],
          globalSetup: ['tests/support/global-setup.ts'],
          pool: 'forks',
        },
      },
    ],
  },
});
