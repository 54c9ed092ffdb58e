// The shapes of a child pool (threads, prefork): how it is built, and what `inspect stats` shows of its children.

import type { AutoscaleLimits } from './autoscale.js';
import type { PoolStats } from './pool.js';

/** How a threads or prefork pool is built: the app module children import, sizes, limits and recycling. */
export interface ChildPoolOptions {
  /** The app module children import: '/abs/tasks.ts:app'. */
  readonly appModule: string;
  /** Children to run (fixed size; ignored with autoscale). */
  readonly size: number;
  readonly autoscale?: AutoscaleLimits | null;
  /** worker_max_tasks_per_child: tasks a child runs before it is replaced. */
  readonly maxTasksPerChild?: number | null;
  /** worker_max_memory_per_child (KiB): a child above this after a task is replaced. */
  readonly maxMemoryPerChild?: number | null;
  readonly hostname: string;
  readonly loglevel?: string | null;
  readonly logfile?: string | null;
  /** worker_proc_alive_timeout in ms: a child not ready by then is killed. Default 4000. */
  readonly procAliveTimeoutMs?: number;
  /** Longest warm-stop wait for running tasks, ms. Default 60000. */
  readonly shutdownTimeoutMs?: number;
  /** Settings applied to each child's app (the CLI's broker / result backend overrides). */
  readonly settings?: Record<string, unknown>;
}

/** One child as `inspect stats` lists it: name, pid or thread id, state, tasks run, memory (KiB), task running. */
export interface ChildInfo {
  readonly name: string;
  readonly pid: number | null;
  readonly threadId: number | null;
  readonly state: SlotState;
  readonly tasks: number;
  readonly memoryKiB: number;
  /** The task id running there, if any. */
  readonly taskId: string | null;
}

/** PoolStats plus tasks waiting for a child and every child. */
export interface ChildPoolStats extends PoolStats {
  readonly waiting: number;
  readonly children: readonly ChildInfo[];
}

export type SlotState = 'starting' | 'idle' | 'busy' | 'retiring' | 'dead';
