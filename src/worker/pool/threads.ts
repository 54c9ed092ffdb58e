// The `threads` pool (Celery's --pool threads, on worker_threads): each child is a worker thread with its own
// V8 isolate and event loop that imports the app module itself, so CPU-bound tasks run in parallel and a stuck
// task can be stopped (terminate()) for its hard time limit. Shares memory limits and crash fate with the
// process: a native crash or process-wide OOM takes the worker down, which `prefork` avoids.
// worker_max_memory_per_child is measured as the thread's V8 heap (total_heap_size), not the process RSS.

import { Worker as Thread } from 'node:worker_threads';
import { deserialize, serialize } from 'node:v8';
import type { ChildMessage, ParentMessage } from './ipc.js';
import { ChildPool } from './children.js';
import { childEntry, tsxUrls, type ChildHandle } from './child-start.js';

// Runs first in each thread: registers tsx when the child entry is TypeScript (running from source), then loads
// the child. Eval'd code is CommonJS, hence require().
const BOOTSTRAP = `
const { workerData, parentPort } = require('node:worker_threads');
const { serialize } = require('node:v8');
(workerData.tsx ? import(workerData.tsx).then((tsx) => tsx.register()) : Promise.resolve())
  .then(() => import(workerData.entry))
  .catch((error) => {
    parentPort.postMessage(serialize({ type: 'fatal', message: 'could not load the pool child: ' + (error && error.message || String(error)) }));
  });
`;

/** `--pool threads`: children are worker threads. */
export class ThreadPool extends ChildPool {
  readonly kind = 'threads' as const;
  protected readonly memoryMeasure = 'heap' as const;
  protected readonly childPrefix = 'ThreadPoolWorker';

  protected spawnChild(name: string): ChildHandle {
    const entry = childEntry();
    const thread = new Thread(BOOTSTRAP, {
      eval: true,
      name,
      workerData: { entry: entry.url.href, tsx: entry.typescript ? tsxUrls().api : null },
    });
    let lastError: Error | null = null;
    thread.on('error', (error) => {
      lastError = error;
    });
    return {
      send: (message: ParentMessage) => thread.postMessage(serialize(message)),
      kill: () => void thread.terminate(),
      onMessage: (fn) => thread.on('message', (raw: Uint8Array) => fn(deserialize(raw) as ChildMessage)),
      onExit: (fn) => thread.once('exit', (code) => fn(`exitcode ${code}${lastError ? ` (${lastError.name}: ${lastError.message})` : ''}`)),
    };
  }
}
