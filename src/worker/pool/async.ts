// The in-process pool: up to `size` tasks in flight on this event loop (I/O-bound tasks). `solo` is size 1.
// A hard time limit cannot stop JavaScript running here: the task is reported failed and its promise abandoned; a
// function that held the loop past its limit is failed with TimeLimitExceeded when it returns, not stored SUCCESS.

import { UsageError } from '../../errors.js';
import { executeTask, type ExecutedCall, type ExecutionHost, type TaskOutcome } from '../../task/execute.js';
import { HELD_LOOP_ADVICE, HELD_LOOP_WARNING_MS, type LoopWatch } from '../loop-watch.js';
import type { RunAbort } from '../../utils/run-abort.js';
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
    private readonly loopWatch?: LoopWatch,
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

  /** A task function that computed for a second or more without yielding is named in the log. */
  private readonly reportHeldLoop = (call: ExecutedCall, ms: number): void => {
    if (ms < HELD_LOOP_WARNING_MS) return;
    this.app.log.logger.warn(`Task ${call.task.name}[${call.request.id}] held the event loop for ${(ms / 1000).toFixed(1)} s. ${HELD_LOOP_ADVICE}`);
    this.loopWatch?.named();
  };

  async run(call: TaskCall, abort: RunAbort): Promise<TaskOutcome> {
    this.running++;
    try {
      return await executeTask({
        task: call.task,
        message: call.message,
        request: call.request,
        host: this.host,
        logger: this.app.log.taskLogger(call.task.name, call.request.id),
        abort,
        overdue: call.overdue,
        reportHeldLoop: this.reportHeldLoop,
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
