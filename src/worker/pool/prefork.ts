// The `prefork` pool (Celery's --pool prefork): each child is a Node process started with child_process.fork
// that imports the app module itself (Node cannot fork a running process, so "prefork" re-imports instead of
// inheriting memory). Full isolation: a crash, OOM or SIGKILL of a child costs one task (WorkerLostError), never
// the worker. Values cross the IPC channel with V8 serialization, so Buffers and Dates survive.
// worker_max_memory_per_child is the child's RSS, as in Celery.

import { WorkerLostError } from '../../errors.js';
import { fork } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage } from './ipc.js';
import { ChildPool } from './children.js';
import { childEntry, tsxUrls, type ChildHandle } from './child-start.js';

/** `--pool prefork` (alias `processes`): children are forked Node processes. */
export class PreforkPool extends ChildPool {
  readonly kind = 'prefork' as const;
  protected readonly memoryMeasure = 'rss' as const;
  protected readonly childPrefix = 'ForkPoolWorker';

  protected spawnChild(name: string): ChildHandle {
    const entry = childEntry();
    // Not the parent's execArgv: an --inspect port would clash, and test runners add loaders of their own.
    const child = fork(fileURLToPath(entry.url), [name], {
      execArgv: entry.typescript ? ['--import', tsxUrls().loader] : [],
      serialization: 'advanced',
      env: { ...process.env, CELERIAC_POOL_CHILD: '1' },
    });
    child.on('error', () => undefined); // a failed send or spawn; the exit event reports the child
    return {
      send: (message: ParentMessage) => {
        if (!child.connected) throw new WorkerLostError(`The IPC channel to prefork child ${child.pid ?? '?'} is closed (the child exited): the task goes back as its worker was lost.`);
        child.send(message);
      },
      kill: () => void child.kill('SIGKILL'),
      onMessage: (fn) => child.on('message', (m) => fn(m as ChildMessage)),
      onExit: (fn) => child.once('exit', (code, signal) => fn(signal ? `signal ${constants.signals[signal] ?? '?'} (${signal})` : `exitcode ${code}`)),
    };
  }
}
