// The seed's tasks.py in TypeScript. With no broker configured, celeriac uses the embedded SQLite file
// `celeriac.db` in the working directory for both messages and results, so this runs with no server.
//
//   npx celeriac worker -A examples/tasks.ts --loglevel=info
//   npx celeriac call tasks.add --args '[2, 3]'

import { Celery, getTaskLogger } from 'celeriac';

export const app = new Celery('tasks');
const logger = getTaskLogger(app);

app.conf.update({
  task_serializer: 'json',
  accept_content: ['json'],
  result_serializer: 'json',
  timezone: 'Europe/Oslo',
  enable_utc: true,
  task_annotations: { 'tasks.add': { rate_limit: '100/s' } },
});

export const add = app.task((x: number, y: number) => x + y, { name: 'tasks.add' });

export const mul = app.task((x: number, y: number) => x * y, { name: 'tasks.mul' });

export const xsum = app.task((numbers: number[]) => numbers.reduce((a, b) => a + b, 0), { name: 'tasks.xsum' });

/** Always fails: shows FAILURE, the traceback and propagate. */
export const fail = app.task(
  (message: string) => {
    throw new TypeError(message);
  },
  { name: 'tasks.fail' },
);

/** A bound task: reads its request context and retries itself until the third attempt. */
export const flaky = app.task(
  function flaky(self, succeedOn: number) {
    logger.info(`attempt ${self.request.retries + 1} of ${succeedOn}`);
    if (self.request.retries + 1 < succeedOn) self.retry({ countdown: 0.2, exc: new Error('not yet') });
    return { attempts: self.request.retries + 1, hostname: self.request.hostname };
  },
  { name: 'tasks.flaky', bind: true, maxRetries: 5 },
);

/** Takes a while: shows STARTED with task_track_started and acks_late. */
export const slow = app.task(
  async (ms: number) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return `slept ${ms} ms`;
  },
  { name: 'tasks.slow', acksLate: true, trackStarted: true },
);
