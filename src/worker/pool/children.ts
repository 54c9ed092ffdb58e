// The parent side of the child pools (threads, prefork): hands task calls to idle children, kills a child for a hard
// time limit or revoke(terminate), turns a child that dies mid-task into WorkerLostError, recycles children (max
// tasks / max memory per child), autoscales and replaces whatever exits; starting a child is the subclass's job. The
// broker, acks and the results of lost or stopped runs stay with the worker; the child stores the task's own results.

import type { WorkerApp } from '../app.js';
import { EncodeError, ImproperlyConfigured, TaskRevokedError, TimeLimitExceeded, UsageError, WorkerLostError } from '../../errors.js';
import { FAILURE } from '../../states.js';
import type { Logger } from '../../utils/logger.js';
import { setLongTimeout, type LongTimer } from '../../utils/long-timer.js';
import type { RunAbort } from '../../utils/run-abort.js';
import { autoscaleStep, type AutoscaleLimits } from './autoscale.js';
import { errorToWire, outcomeFromWire, type ChildMessage, type ParentMessage } from './ipc.js';
import type { Pool, PoolOutcome, TaskCall } from './pool.js';
import type { ChildHandle } from './child-start.js';
import type { ChildInfo, ChildPoolOptions, ChildPoolStats, SlotState } from './child-types.js';

interface Job {
  readonly id: number;
  readonly call: TaskCall;
  readonly signal: AbortSignal;
  readonly queuedAt: number;
  readonly resolve: (outcome: PoolOutcome) => void;
  readonly onAbort: () => void;
  startedAt: number | null;
  slot: Slot | null;
  done: boolean;
}

interface Slot {
  readonly name: string;
  readonly handle: ChildHandle;
  state: SlotState;
  pid: number | null;
  threadId: number | null;
  job: Job | null;
  tasks: number;
  memoryKiB: number;
  /** Why the pool killed it: then its exit is expected. */
  killedFor: unknown;
  fatal: string | null;
  timer: LongTimer | null;
  /** Started before a pool_restart: replaced as soon as it is idle. */
  stale?: boolean;
  readonly ready: Promise<void>;
  readonly settleReady: (error?: Error) => void;
}

const RETIRE_GRACE_MS = 10_000;
const MAX_RESPAWN_DELAY_MS = 30_000;

/**
 * A pool of children that import the app themselves (threads, prefork): start, run with time limits, kill a
 * stuck or revoked task with its child, recycle by task count and memory, autoscale, report a lost child.
 */
export abstract class ChildPool implements Pool {
  abstract readonly kind: 'threads' | 'prefork';
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private readonly waiters = new Set<() => void>();
  private nextJob = 0;
  private spawned = 0;
  private target: number;
  private started = false;
  private stopping = false;
  private startFailures = 0;
  private respawnTimer: NodeJS.Timeout | null = null;
  private scaleTimer: NodeJS.Timeout | null = null;
  private lastScaleUp = Date.now();
  /** The autoscale range in force (control command autoscale changes it); null without --autoscale. */
  private scale: AutoscaleLimits | null;

  constructor(
    protected readonly app: WorkerApp,
    protected readonly logger: Logger,
    protected readonly options: ChildPoolOptions,
  ) {
    const scale = options.autoscale ?? null;
    this.scale = scale;
    this.target = scale ? scale.min : options.size;
    if (!scale && (!Number.isInteger(options.size) || options.size < 1)) throw new ImproperlyConfigured(`Pool size must be a whole number ≥ 1 (got ${options.size}).`);
  }

  /** Start one child; `name` is its log name (ForkPoolWorker-3). */
  protected abstract spawnChild(name: string): ChildHandle;
  /** How children measure memory for worker_max_memory_per_child. */
  protected abstract readonly memoryMeasure: 'rss' | 'heap';
  /** Log name prefix (Celery: ForkPoolWorker). */
  protected abstract readonly childPrefix: string;

  /** Children alive or starting (retiring ones excluded). */
  get size(): number {
    let n = 0;
    for (const s of this.slots) if (s.state === 'starting' || s.state === 'idle' || s.state === 'busy') n++;
    return n;
  }

  /** Start the initial children and wait until each has loaded the app; a child that cannot start fails start(). */
  async start(): Promise<void> {
    const first = Array.from({ length: this.target }, () => this.spawn());
    try {
      await Promise.all(first.map((s) => s.ready));
    } catch (error) {
      this.stopping = true;
      for (const s of this.slots) this.kill(s, 'start failed');
      throw new ImproperlyConfigured(`The ${this.kind} pool could not start a child for ${this.options.appModule}: ${(error as Error).message}`, { cause: error });
    }
    this.started = true;
    this.lastScaleUp = Date.now();
    if (this.scale) {
      this.scaleTimer = setInterval(() => this.autoscale(), 1000);
      this.scaleTimer.unref();
    }
  }

  run(call: TaskCall, abort: RunAbort): Promise<PoolOutcome> {
    // A child's task is told of an abort over IPC: the parent listens on the signal.
    const signal = abort.signal;
    return new Promise<PoolOutcome>((resolve) => {
      const job: Job = {
        id: ++this.nextJob, call, signal, queuedAt: Date.now(), resolve, startedAt: null, slot: null, done: false,
        onAbort: () => this.onAbort(job),
      };
      if (this.stopping) {
        resolve({ state: 'REJECTED', requeue: true, reason: new WorkerLostError('The pool is stopping; the task was not started.'), runtimeMs: 0 });
        return;
      }
      signal.addEventListener('abort', job.onAbort, { once: true });
      this.queue.push(job);
      if (signal.aborted) this.onAbort(job);
      this.dispatch();
    });
  }

  /** Warm: let running tasks finish (up to shutdownTimeoutMs), then end the children. Cold: kill them now. */
  async stop(mode: 'warm' | 'cold'): Promise<void> {
    this.stopping = true;
    if (this.scaleTimer) clearInterval(this.scaleTimer);
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    for (const job of this.queue.splice(0)) {
      this.finish(job, { state: 'REJECTED', requeue: true, reason: new WorkerLostError('The pool stopped before the task started.'), runtimeMs: 0 });
    }
    if (mode === 'warm') await this.waitFor(() => this.busyCount() === 0, this.options.shutdownTimeoutMs ?? 60_000);
    for (const slot of this.slots) {
      if (mode === 'cold' || slot.state === 'busy' || slot.state === 'starting') this.kill(slot, 'stop');
      else if (slot.state !== 'dead') this.retire(slot, null);
    }
    if (!(await this.waitFor(() => this.slots.size === 0, 5_000))) {
      for (const slot of this.slots) this.kill(slot, 'stop');
      await this.waitFor(() => this.slots.size === 0, 2_000);
    }
  }

  /** The autoscale range in force, or null without --autoscale. */
  get autoscaleLimits(): AutoscaleLimits | null {
    return this.scale;
  }

  /** pool_grow/pool_shrink: keep `size` children (at least 1); idle extras go now, busy ones after their task. */
  resize(size: number): void {
    if (this.scale) throw new UsageError('The pool size follows --autoscale; change the autoscale range instead.');
    this.target = Math.max(1, Math.floor(size));
    this.replenish();
    let extra = this.size - this.target;
    for (const slot of [...this.slots]) {
      if (extra <= 0) break;
      if (slot.state === 'idle') {
        this.retire(slot, `${slot.name} stopped (pool_shrink)`);
        extra--;
      }
    }
  }

  /** pool_restart: replace every child, idle ones now and busy ones after their task; new ones import the app afresh. */
  async restart(): Promise<void> {
    for (const slot of [...this.slots]) {
      if (slot.state === 'idle') this.retire(slot, `${slot.name} replaced (pool_restart)`);
      else slot.stale = true;
    }
  }

  /** Change the autoscale range (control command autoscale); null keeps that bound. Returns the range in force. */
  setAutoscale(max: number | null, min: number | null): AutoscaleLimits {
    if (!this.scale) throw new UsageError('Autoscale not enabled: start the worker with --autoscale max,min.');
    const hi = max ?? this.scale.max;
    const lo = min ?? this.scale.min;
    if (!Number.isInteger(hi) || !Number.isInteger(lo) || hi < 1 || lo < 0) throw new UsageError(`autoscale takes whole numbers max ≥ 1 and min ≥ 0, got max=${max} min=${min}.`);
    this.scale = { ...this.scale, max: Math.max(hi, lo), min: Math.min(hi, lo) };
    // As Celery's Autoscaler.update: a max below the current size shrinks now, not after the keepalive.
    if (this.size > this.scale.max) {
      this.target = this.scale.max;
      for (const slot of [...this.slots]) if (this.size > this.target && slot.state === 'idle') this.retire(slot, `${slot.name} stopped (autoscale max=${this.scale.max})`);
    }
    this.autoscale();
    return this.scale;
  }

  stats(): ChildPoolStats {
    return {
      kind: this.kind,
      size: this.size,
      active: this.busyCount(),
      waiting: this.queue.length,
      children: [...this.slots].map((s) => ({
        name: s.name, pid: s.pid, threadId: s.threadId, state: s.state, tasks: s.tasks, memoryKiB: s.memoryKiB, taskId: s.job?.call.request.id ?? null,
      })),
    };
  }

  private spawn(): Slot {
    const name = `${this.childPrefix}-${++this.spawned}`;
    let settleReady!: (error?: Error) => void;
    const ready = new Promise<void>((resolve, reject) => (settleReady = (e) => (e ? reject(e) : resolve())));
    ready.catch(() => undefined);
    const handle = this.spawnChild(name);
    const slot: Slot = {
      name, handle, state: 'starting', pid: null, threadId: null, job: null, tasks: 0, memoryKiB: 0, killedFor: undefined, fatal: null, timer: null, ready, settleReady,
    };
    this.slots.add(slot);
    handle.onMessage((m) => this.onMessage(slot, m));
    handle.onExit((how) => this.onExit(slot, how));
    const aliveMs = this.options.procAliveTimeoutMs ?? 4000;
    slot.timer = setLongTimeout(() => {
      slot.fatal = `it did not report ready within ${aliveMs / 1000}s (worker_proc_alive_timeout)`;
      this.kill(slot, 'start timeout');
    }, aliveMs).unref();
    this.send(slot, {
      type: 'init',
      appModule: this.options.appModule,
      settings: this.options.settings ?? {},
      hostname: this.options.hostname,
      loglevel: this.options.loglevel ?? null,
      logfile: this.options.logfile ?? null,
      processName: name,
      memory: this.memoryMeasure,
    });
    return slot;
  }

  private onMessage(slot: Slot, m: ChildMessage): void {
    switch (m.type) {
      case 'ready':
        slot.timer?.cancel();
        slot.timer = null;
        slot.pid = m.pid;
        slot.threadId = m.threadId;
        if (slot.state === 'starting') slot.state = 'idle';
        this.startFailures = 0;
        slot.settleReady();
        this.dispatch();
        break;
      case 'fatal':
        slot.fatal = m.message;
        this.kill(slot, 'fatal');
        break;
      case 'done': {
        const job = slot.job;
        slot.job = null;
        slot.tasks++;
        slot.memoryKiB = m.memoryKiB;
        if (job && job.id === m.job) this.finish(job, outcomeFromWire(m.outcome));
        if (slot.state !== 'busy') break;
        slot.state = 'idle';
        this.recycleIfDue(slot);
        this.dispatch();
        break;
      }
    }
  }

  private recycleIfDue(slot: Slot): void {
    const { maxTasksPerChild: maxTasks, maxMemoryPerChild: maxMemory } = this.options;
    if (slot.stale) this.retire(slot, `${slot.name} replaced (pool_restart)`);
    else if (this.size > this.target) this.retire(slot, `${slot.name} stopped (pool_shrink)`);
    else if (maxTasks && slot.tasks >= maxTasks) {
      this.retire(slot, `${slot.name} ran ${slot.tasks} task(s) (worker_max_tasks_per_child=${maxTasks}); replacing it`);
    } else if (maxMemory && slot.memoryKiB > maxMemory) {
      // Celery's wording: "child process %d exceeded memory limit: %dKiB / %dKiB".
      this.retire(slot, `${slot.name} exceeded memory limit: ${slot.memoryKiB}KiB / ${maxMemory}KiB (worker_max_memory_per_child); replacing it`);
    }
  }

  private onExit(slot: Slot, how: string): void {
    slot.timer?.cancel();
    const wasReady = slot.pid !== null;
    slot.state = 'dead';
    this.slots.delete(slot);
    if (!wasReady) {
      const reason = slot.fatal ?? `it exited with ${how} before it was ready`;
      slot.settleReady(new Error(reason));
      if (this.started && !this.stopping) {
        this.startFailures++;
        this.logger.error(`Pool child ${slot.name} could not start: ${reason}`);
      }
    }
    const job = slot.job;
    if (job && !job.done) this.finish(job, this.workerLost(slot, job, how));
    this.replenish();
    this.notify();
  }

  /** Celery's WorkerLostError: the worker requeues it (acks_late + task_reject_on_worker_lost) or stores FAILURE. */
  private workerLost(slot: Slot, job: Job, how: string): PoolOutcome {
    const { task, request } = job.call;
    if (this.stopping && slot.killedFor === 'stop') {
      const error = new WorkerLostError(`The worker shut down (cold) while ${task.name}[${request.id}] was running.`, { context: { taskId: request.id, taskName: task.name } });
      return { state: 'LOST', error, runtimeMs: this.runtime(job) };
    }
    const error = new WorkerLostError(`Worker exited prematurely: ${how} Job: ${request.id}.`, { context: { taskId: request.id, taskName: task.name } });
    this.logger.error(
      `Pool child ${slot.name} (pid ${slot.pid}${slot.threadId !== null ? `, thread ${slot.threadId}` : ''}) exited with ${how} while running ${task.name}[${request.id}]; a new child replaces it.`,
    );
    return { state: 'LOST', error, runtimeMs: this.runtime(job) };
  }

  /** Hard time limit or revoke(terminate) by task id: kill the child running it (or drop it if still waiting). */
  terminate(taskId: string, reason: Error): void {
    const job = [...this.slots].map((s) => s.job).find((j) => j?.call.request.id === taskId) ?? this.queue.find((j) => j.call.request.id === taskId);
    if (job) this.hardStop(job, reason);
  }

  private onAbort(job: Job): void {
    if (job.done) return;
    const reason = job.signal.reason as unknown;
    if (reason instanceof TimeLimitExceeded || reason instanceof TaskRevokedError) return this.hardStop(job, reason);
    // Soft time limit (or any other abort): the child aborts the task's signal; the task decides what to do.
    if (job.slot) this.send(job.slot, { type: 'abort', job: job.id, error: errorToWire(reason) });
  }

  private hardStop(job: Job, reason: Error): void {
    if (job.done) return;
    const slot = job.slot;
    if (slot) {
      this.logger.warn(`${(reason as Error).message}: killing pool child ${slot.name} (pid ${slot.pid}${slot.threadId !== null ? `, thread ${slot.threadId}` : ''}) and starting a new one.`);
      this.kill(slot, reason);
    } else {
      const at = this.queue.indexOf(job);
      if (at >= 0) this.queue.splice(at, 1);
    }
    // The worker already decided this run's outcome (time limit or terminate): what this resolves with is unused.
    this.finish(job, { state: FAILURE, error: reason, traceback: null, runtimeMs: this.runtime(job) });
    this.replenish();
  }

  private dispatch(): void {
    if (this.stopping) return;
    while (this.queue.length > 0) {
      const slot = [...this.slots].find((s) => s.state === 'idle');
      if (!slot) {
        this.grow();
        return;
      }
      const job = this.queue.shift()!;
      slot.state = 'busy';
      slot.job = job;
      job.slot = slot;
      job.startedAt = Date.now();
      const { signal: _signal, ...request } = job.call.request;
      const refused = this.send(slot, { type: 'run', job: job.id, taskName: job.call.task.name, message: job.call.message, request });
      if (refused) {
        this.refuse(slot, job, refused);
        continue;
      }
      if (job.signal.aborted) this.onAbort(job);
    }
  }

  /** Autoscale up at once when tasks wait for a child (the timer only does the shrinking). */
  private grow(): void {
    if (this.scale) this.autoscale();
  }

  private autoscale(): void {
    const limits = this.scale;
    if (!limits || this.stopping) return;
    const step = autoscaleStep({ procs: this.size, wanted: this.busyCount() + this.queue.length, sinceScaleUpMs: Date.now() - this.lastScaleUp }, limits);
    if (step > 0) {
      this.lastScaleUp = Date.now();
      this.target = this.size + step;
      this.logger.info(`Scaling up ${step} child(ren) (autoscale ${limits.max},${limits.min})`);
      this.replenish();
    } else if (step < 0) {
      const idle = [...this.slots].filter((s) => s.state === 'idle').slice(0, -step);
      if (idle.length === 0) return;
      this.target = Math.max(limits.min, this.size - idle.length);
      this.logger.info(`Scaling down ${idle.length} child(ren) (autoscale ${limits.max},${limits.min})`);
      for (const s of idle) this.retire(s, null);
    }
  }

  /** Start children until the target is met; after children failed to start, wait a little longer each time. */
  private replenish(): void {
    if (this.stopping || !this.started || this.respawnTimer) return;
    const missing = this.target - this.size;
    if (missing <= 0) return;
    if (this.startFailures > 0) {
      const delay = Math.min(MAX_RESPAWN_DELAY_MS, 1000 * 2 ** (this.startFailures - 1));
      this.respawnTimer = setTimeout(() => {
        this.respawnTimer = null;
        if (this.stopping || this.target - this.size <= 0) return;
        this.spawn();
        this.replenish();
      }, delay);
      this.respawnTimer.unref();
      return;
    }
    for (let i = 0; i < missing; i++) this.spawn();
  }

  /** Ask a child to close its app and exit (its replacement starts now); killed if it does not go in time. */
  private retire(slot: Slot, why: string | null): void {
    if (slot.state === 'dead' || slot.state === 'retiring') return;
    slot.state = 'retiring';
    if (why) this.logger.info(why);
    this.send(slot, { type: 'shutdown' });
    slot.timer = setLongTimeout(() => this.kill(slot, 'retire timeout'), RETIRE_GRACE_MS).unref();
    this.replenish();
  }

  private kill(slot: Slot, why: unknown): void {
    if (slot.state === 'dead') return;
    slot.killedFor ??= why;
    slot.state = 'retiring';
    try {
      slot.handle.kill();
    } catch {
      // Already gone: its exit event does the rest.
    }
  }

  /** Send to a child; returns the error when the message itself cannot be serialized (too deep, uncloneable). */
  private send(slot: Slot, message: ParentMessage): Error | null {
    try {
      slot.handle.send(message);
    } catch (error) {
      const name = (error as Error)?.name;
      if (name === 'RangeError' || name === 'DataCloneError') return error as Error;
      // The child is dying; its exit event reports the job (WorkerLostError).
      this.logger.debug(`Could not send to pool child ${slot.name}: ${(error as Error).message}`);
    }
    return null;
  }

  /** A task whose message cannot cross to a child fails at once (EncodeError) and its slot is free again. */
  private refuse(slot: Slot, job: Job, cause: Error): void {
    slot.state = 'idle';
    slot.job = null;
    const { message } = job.call;
    const error = new EncodeError(
      `Task ${message.task}[${message.id}] cannot be passed to a ${this.kind} pool child: its arguments are nested too deeply ` +
        `or hold a value that cannot be copied (${cause.message}). Send flatter plain data, or run such tasks on the async pool (-P async).`,
      { cause },
    );
    this.finish(job, { state: 'UNSENT', error, runtimeMs: 0 });
  }

  private finish(job: Job, outcome: PoolOutcome): void {
    if (job.done) return;
    job.done = true;
    job.signal.removeEventListener('abort', job.onAbort);
    job.resolve(outcome);
    this.notify();
  }

  private runtime(job: Job): number {
    return job.startedAt === null ? 0 : Date.now() - job.startedAt;
  }

  private busyCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.job && !s.job.done) n++;
    return n;
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolve true when `done()` holds, false after `ms`. */
  private waitFor(done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        cleanup();
        resolve(true);
      };
      // ms may come from worker_shutdown_timeout: a long timer.
      const timer = setLongTimeout(() => {
        cleanup();
        resolve(false);
      }, ms);
      const cleanup = () => {
        timer.cancel();
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }
}
