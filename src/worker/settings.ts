// The worker's settings, compiled once at start from app.conf and the worker's options into typed values in the
// worker's own units (ms, counts), and the per-task policy compiled once per task name. Nothing else in the
// worker reads app.conf by name.

import type { StartupRetry } from './broker-connect.js';
import { queueArgumentsFor } from '../config/queue-arguments.js';
import { cpus } from 'node:os';
import type { Config } from '../config/resolve.js';
import type { Settings } from '../config/settings.js';
import { ImproperlyConfigured } from '../errors.js';
import { AUTH_NOT_SET_UP, acceptSet } from '../protocol/serializers.js';
import { AUTH_CONTENT_TYPE } from '../security/auth-serializer.js';
import { signingIsSetUp } from '../security/setup.js';
import type { ExecutableTask } from '../task/interfaces.js';

/** `processes` is an alias of `prefork`. */
export type PoolKind = 'async' | 'solo' | 'threads' | 'prefork' | 'processes';

/** A queue the worker may consume, as task_queues (or the defaults) declare it. */
export interface QueueInfo {
  readonly name: string;
  readonly exchange: string;
  readonly exchangeType: string;
  readonly routingKey: string;
  /** queue_arguments (x-queue-type …), as the client declares them too (config/queue-arguments.ts). */
  readonly queueArguments?: Readonly<Record<string, unknown>>;
}

/** The task defaults every per-task policy starts from (Celery's task_* execution settings). */
export interface TaskDefaultsSettings {
  readonly acksLate: boolean;
  readonly acksOnFailureOrTimeout: boolean;
  readonly rejectOnWorkerLost: boolean;
  /** Seconds; null = none (task_time_limit). */
  readonly timeLimit: number | null;
  /** Seconds; null = none (task_soft_time_limit). */
  readonly softTimeLimit: number | null;
  readonly trackStarted: boolean;
  readonly ignoreResult: boolean;
  readonly storeErrorsEvenIfIgnored: boolean;
  /** task_default_rate_limit as configured ('10/m'), null = none. */
  readonly rateLimit: string | number | null;
}

/** One task's execution policy: its own options over the worker's task defaults. */
export interface TaskPolicy {
  readonly acksLate: boolean;
  readonly acksOnFailureOrTimeout: boolean;
  readonly rejectOnWorkerLost: boolean;
  /** Seconds; null = none. A message's own timelimit header wins over these. */
  readonly timeLimit: number | null;
  readonly softTimeLimit: number | null;
  readonly trackStarted: boolean;
  /** Do not store return values (a message's ignore_result also skips storing its success). */
  readonly ignoreResult: boolean;
  /** Store failures (and revocations): not ignoreResult, or store_errors_even_if_ignored (Celery's store_errors). */
  readonly storeErrors: boolean;
}

/** Everything the worker reads from configuration, compiled once. */
export interface WorkerSettings {
  readonly pool: 'async' | 'solo' | 'threads' | 'prefork';
  /** Slots: tasks running at once (solo: 1; autoscale: its max). */
  readonly concurrency: number;
  readonly prefetchMultiplier: number;
  /** Content types accepted from task messages (accept_content). */
  readonly accept: ReadonlySet<string>;
  /** Bytes a compressed task body may expand to (worker_max_decompressed_size). */
  readonly maxDecompressedBytes: number;
  readonly loglevel: string | null;
  readonly logfile: string | null;
  /** Task events (-E / worker_send_task_events). */
  readonly sendTaskEvents: boolean;
  /** The level printed output is logged at (worker_redirect_stdouts_level); null = not redirected. */
  readonly redirectStdoutsLevel: string | null;
  readonly remoteControl: boolean;
  readonly disableRateLimits: boolean;
  readonly stateDb: string | null;
  readonly maxTasksPerChild: number | null;
  /** KiB. */
  readonly maxMemoryPerChild: number | null;
  readonly procAliveTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  /** Store name/args/kwargs/worker/retries/queue with results (result_extended). */
  readonly resultExtended: boolean;
  readonly task: TaskDefaultsSettings;
  /** Every queue task_queues declares (or the default queue), by name. */
  readonly knownQueues: ReadonlyMap<string, QueueInfo>;
  readonly createMissingQueues: boolean;
  /** queue_arguments of a queue created because -Q named it but task_queues does not (task_create_missing_queue_type). */
  readonly missingQueueArguments?: Readonly<Record<string, unknown>>;
  /** worker_detect_quorum_queues: consume quorum queues with per-consumer prefetch (no global QoS). */
  readonly detectQuorumQueues: boolean;
  /** broker_native_delayed_delivery_queue_type: queue type of the celery_delayed_* queues (AMQP). */
  readonly nativeDelayQueueType: 'quorum' | 'classic';
  /** The first broker connection: broker_connection_retry_on_startup (null follows broker_connection_retry) and broker_connection_max_retries. */
  readonly startupRetry: StartupRetry;
  /** broker_url and result_backend as configured (null when not set): pool children apply them over their own. */
  readonly urls: { readonly broker_url: Settings['broker_url']; readonly result_backend: Settings['result_backend'] };
}

/** What the worker's options may override (the CLI flags); the rest comes from app.conf. */
export interface WorkerSettingsOverrides {
  readonly pool?: PoolKind;
  readonly concurrency?: number;
  /** Autoscale max, when autoscaling a child pool: the concurrency. */
  readonly autoscaleMax?: number | null;
  readonly prefetchMultiplier?: number;
  readonly loglevel?: string;
  readonly logfile?: string | null;
  readonly events?: boolean;
  /** Redirect stdout/stderr to the log when worker_redirect_stdouts allows (the CLI asks; in-process workers do not). */
  readonly redirectStdouts?: boolean;
  readonly statedb?: string | null;
  readonly maxTasksPerChild?: number;
  readonly maxMemoryPerChild?: number;
  /** Seconds. */
  readonly shutdownTimeout?: number;
}

/** The pool kind from the option, else worker_pool; `processes` reads as `prefork`. */
export function poolKindOf(conf: Config, option?: PoolKind): WorkerSettings['pool'] {
  const kind = option ?? conf.get('worker_pool');
  return kind === 'processes' ? 'prefork' : kind;
}

/** The task defaults alone: what a pool child needs to compile its own per-task policies. */
export function compileTaskDefaults(conf: Config): TaskDefaultsSettings {
  return {
    acksLate: conf.get('task_acks_late'),
    acksOnFailureOrTimeout: conf.get('task_acks_on_failure_or_timeout'),
    rejectOnWorkerLost: conf.get('task_reject_on_worker_lost'),
    timeLimit: conf.get('task_time_limit'),
    softTimeLimit: conf.get('task_soft_time_limit'),
    trackStarted: conf.get('task_track_started'),
    ignoreResult: conf.get('task_ignore_result'),
    storeErrorsEvenIfIgnored: conf.get('task_store_errors_even_if_ignored'),
    rateLimit: conf.get('task_default_rate_limit') as string | number | null,
  };
}

/** Compile the worker's settings; a bad concurrency throws ImproperlyConfigured naming the option. */
export function compileWorkerSettings(conf: Config, o: WorkerSettingsOverrides = {}): WorkerSettings {
  const pool = poolKindOf(conf, o.pool);
  const concurrency = o.autoscaleMax ?? (pool === 'solo' ? 1 : (o.concurrency ?? conf.get('worker_concurrency') ?? cpus().length));
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ImproperlyConfigured(`Concurrency must be a whole number ≥ 1 (got ${concurrency}). Set -c / worker_concurrency.`);
  }
  const accept = acceptSet(conf.get('accept_content') ?? ['json']);
  if (accept.has(AUTH_CONTENT_TYPE) && !signingIsSetUp()) throw new ImproperlyConfigured(`accept_content names 'auth'. ${AUTH_NOT_SET_UP}`);
  if (conf.get('control_require_signed') && !signingIsSetUp()) throw new ImproperlyConfigured(`control_require_signed is on. ${AUTH_NOT_SET_UP}`);
  return {
    pool,
    concurrency,
    prefetchMultiplier: o.prefetchMultiplier ?? conf.get('worker_prefetch_multiplier'),
    accept,
    maxDecompressedBytes: conf.get('worker_max_decompressed_size'),
    loglevel: o.loglevel ?? null,
    logfile: o.logfile ?? null,
    sendTaskEvents: o.events ?? conf.get('worker_send_task_events'),
    redirectStdoutsLevel: o.redirectStdouts && conf.get('worker_redirect_stdouts') ? conf.get('worker_redirect_stdouts_level') : null,
    remoteControl: conf.get('worker_enable_remote_control'),
    disableRateLimits: conf.get('worker_disable_rate_limits'),
    stateDb: o.statedb ?? conf.get('worker_state_db'),
    maxTasksPerChild: o.maxTasksPerChild ?? conf.get('worker_max_tasks_per_child'),
    maxMemoryPerChild: o.maxMemoryPerChild ?? conf.get('worker_max_memory_per_child'),
    procAliveTimeoutMs: conf.get('worker_proc_alive_timeout') * 1000,
    shutdownTimeoutMs: (o.shutdownTimeout ?? 60) * 1000,
    resultExtended: conf.get('result_extended'),
    task: compileTaskDefaults(conf),
    knownQueues: knownQueues(conf),
    createMissingQueues: conf.get('task_create_missing_queues'),
    missingQueueArguments: conf.get('task_create_missing_queue_type') === 'quorum' ? { 'x-queue-type': 'quorum' } : undefined,
    detectQuorumQueues: conf.get('worker_detect_quorum_queues'),
    nativeDelayQueueType: conf.get('broker_native_delayed_delivery_queue_type'),
    startupRetry: { retry: conf.get('broker_connection_retry_on_startup') ?? conf.get('broker_connection_retry'), maxRetries: conf.get('broker_connection_max_retries') },
    urls: { broker_url: conf.get('broker_url') || null, result_backend: conf.get('result_backend') || null },
  };
}

function knownQueues(conf: Config): Map<string, QueueInfo> {
  const defaultQueue = conf.get('task_default_queue');
  const configured = (conf.get('task_queues') as Array<Record<string, unknown>> | null) ?? [{ name: defaultQueue }];
  const known = new Map<string, QueueInfo>();
  for (const q of configured) {
    const name = String(q.name);
    known.set(name, {
      name,
      exchange: String(q.exchange ?? conf.get('task_default_exchange') ?? name),
      exchangeType: String(q.exchange_type ?? conf.get('task_default_exchange_type')),
      routingKey: String(q.routing_key ?? name),
      queueArguments: queueArgumentsFor(name, (key) => conf.get(key as never)),
    });
  }
  return known;
}

/**
 * Per-task policies, each compiled once from the task's options over the worker's defaults. Run-time time limits
 * (the time_limit control command) replace a task's limits, as Celery sets them on the task.
 */
export class TaskPolicies {
  private readonly compiled = new Map<string, TaskPolicy>();
  private readonly timeLimits = new Map<string, { soft: number | null; hard: number | null }>();

  constructor(private readonly defaults: TaskDefaultsSettings) {}

  /** The policy of a registered task. */
  of(task: ExecutableTask): TaskPolicy {
    let policy = this.compiled.get(task.name);
    if (!policy) {
      policy = compileTaskPolicy(task, this.defaults, this.timeLimits.get(task.name));
      this.compiled.set(task.name, policy);
    }
    return policy;
  }

  /** Replace a task's time limits (seconds; null = none) for the rest of this worker's life. */
  setTimeLimits(taskName: string, soft: number | null, hard: number | null): void {
    this.timeLimits.set(taskName, { soft, hard });
    this.compiled.delete(taskName);
  }
}

/** One task's policy: its own option, else the worker's default (Celery's task attributes over task_* settings). */
export function compileTaskPolicy(task: ExecutableTask, d: TaskDefaultsSettings, limits?: { soft: number | null; hard: number | null }): TaskPolicy {
  const o = task.options;
  const ignoreResult = o.ignoreResult ?? d.ignoreResult;
  return {
    acksLate: o.acksLate ?? d.acksLate,
    acksOnFailureOrTimeout: o.acksOnFailureOrTimeout ?? d.acksOnFailureOrTimeout,
    rejectOnWorkerLost: o.rejectOnWorkerLost ?? d.rejectOnWorkerLost,
    timeLimit: limits ? limits.hard : (o.timeLimit ?? d.timeLimit),
    softTimeLimit: limits ? limits.soft : (o.softTimeLimit ?? d.softTimeLimit),
    trackStarted: o.trackStarted ?? d.trackStarted,
    ignoreResult,
    storeErrors: !ignoreResult || (o.storeErrorsEvenIfIgnored ?? d.storeErrorsEvenIfIgnored),
  };
}
