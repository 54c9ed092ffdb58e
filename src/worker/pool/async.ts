// The in-process pool: up to `size` tasks in flight on this event loop (I/O-bound tasks). `solo` is size 1.
// A hard time limit cannot stop JavaScript running here: the task is reported failed and its promise abandoned.

import { UsageError } from '../../errors.js';
import { executeTask, type ExecutionHost, type TaskOutcome } from '../../task/execute.js';
import type { WorkerApp } from '../app.js';
import type { Pool, PoolStats, TaskCall } from './pool.js';

/** The in-process pool (async, and solo with size 1): tasks run as concurrent promises on the worker's event loop. */
export class AsyncPool implements Pool {
  private running = 0;

  constructor(
    readonly kind: 'async' | 'solo',
    private slots: number,
    private readonly app: WorkerApp,
    private readonly host: ExecutionHost,
  ) {}

  /** Tasks in flight at once. */
  get size(): number {
    return this.slots;
  }

  /** pool_grow/pool_shrink (async only: solo is one task at a time by definition). */
  resize(size: number): void {
    if (this.kind === 'solo') throw new UsageError('The solo pool runs one task at a time; it cannot grow or shrink. Use -P async, threads or prefork.');
    this.slots = Math.max(1, Math.floor(size));
  }

  async start(): Promise<void> {}

  async run(call: TaskCall, signal: AbortSignal): Promise<TaskOutcome> {
    this.running++;
    try {
      return await executeTask({
        task: call.task,
        message: call.message,
        request: call.request,
        host: this.host,
        logger: this.app.log.taskLogger(call.task.name, call.request.id),
        signal,
      });
    } finally {
      this.running--;
    }
  }

  async stop(): Promise<void> {}

  stats(): PoolStats {
    return { kind: this.kind, size: this.size, active: this.running };
  }
}
