// The one interface every benchmarked system implements, so run.ts measures them all the same way.
// A driver knows its client API, its worker command line and where its results land in Redis; nothing else.

import type { WorkerSpec } from '../lib/procs.js';
import type { RedisServer } from '../lib/redis-server.js';

export type SystemName = 'celeriac' | 'BullMQ' | 'Celery';

/** One worker configuration of a system (a pool kind with its settings). */
export interface Variant {
  /** Short column label, e.g. 'prefork -c 2'. */
  readonly label: string;
  /** The settings, as they appear in the report's notes. */
  readonly settings: string;
}

export interface DriverContext {
  readonly redis: RedisServer;
  /** The repository root (package.json). */
  readonly root: string;
}

export interface Driver {
  readonly system: SystemName;
  readonly variants: readonly Variant[];
  /** Client and library versions, for the report. */
  readonly version: string;
  /** Everything that must happen once before measuring (builds, imports); throws with the reason it cannot run. */
  prepare(): Promise<void>;
  /**
   * Send n `add(i, i)` tasks through the normal client API after one untimed warm-up send (connections open);
   * resolves with the seconds the n sends took, timed where the client runs.
   */
  enqueue(mode: 'awaited' | 'in-flight', n: number, shape?: TaskShape): Promise<number>;
  /** Messages waiting in the broker: checks an enqueue and sets the drain target. */
  queued(): Promise<number>;
  /** Results stored so far; polled during a drain, so it must be one cheap command. */
  stored(): Promise<number>;
  /** The command line of one worker (which may start several processes). acksLate: acknowledge after the result is stored. */
  worker(variant: Variant, options: WorkerShape): WorkerSpec;
  /** Latencies in ms of n sequential call-then-wait-for-result, after `warmup` unrecorded ones. */
  roundTrip(n: number, warmup: number): Promise<number[]>;
  close(): Promise<void>;
}

/** What the sent tasks carry (bench/sweep.ts): add(payload, '') instead of add(i, i), or an ETA far ahead. */
export interface TaskShape {
  /** A string argument of this many bytes; its result is the same string. */
  readonly payloadBytes?: number;
  /** Seconds until the task is due (countdown / delay): parked, not run during the measurement. */
  readonly delaySeconds?: number;
}

/** How the worker runs: the variant's defaults unless given (bench/sweep.ts). */
export interface WorkerShape {
  readonly acksLate: boolean;
  /** Tasks in flight per process. */
  readonly concurrency?: number;
  /** Worker processes, each consuming from Redis. */
  readonly processes?: number;
}

export type DriverFactory = (context: DriverContext) => Driver;
