// The celeriac side of the benchmark: the no-op bench.add task on a given Redis (broker db 0, results db 1).
// Plain JavaScript importing the built package, so the measured worker loads no TypeScript loader.
import { Celery } from 'celeriac';

/** The app and its task; acksLate makes the worker acknowledge only after the result is stored. */
export function createApp(redisUrl, { acksLate = false } = {}) {
  const app = new Celery('bench', { broker: `${redisUrl}/0`, backend: `${redisUrl}/1` });
  const add = app.task((x, y) => x + y, { name: 'bench.add', acksLate });
  return { app, add };
}
