// `celeriac worker`: start a worker for the -A app (Celery's `celery worker`).

import { Command, InvalidArgumentError, Option } from 'commander';
import type { Celery } from '../app/celery.js';
import { importDefaultModules } from '../app/default-modules.js';
import { Beat } from '../beat/beat.js';
import { toLogLevel } from '../utils/logger.js';
import { installShutdownSignals } from '../worker/shutdown.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';
import { appFlags, loadAppFrom, runAction, withAppOptions } from './common.js';
import { resolveAppSpec } from './load-app.js';
import { nodeIndex, nodeName, runNodes } from './worker-nodes.js';
import { startedByNpm, whenOrphaned } from './orphan-watch.js';

interface WorkerFlags {
  concurrency?: number;
  queues?: string;
  excludeQueues?: string;
  hostname?: string;
  loglevel?: string;
  pool?: 'async' | 'solo' | 'threads' | 'prefork' | 'processes';
  autoscale?: string;
  maxTasksPerChild?: number;
  maxMemoryPerChild?: number;
  app?: string;
  prefetchMultiplier?: number;
  events?: boolean;
  logfile?: string;
  banner?: boolean;
  statedb?: string;
  beat?: boolean;
  schedule?: string;
  nodes?: number;
}

/** The worker command's options, without an action (shared by the CLI and app.workerMain). */
function workerOptions(): Command {
  return withAppOptions(new Command('worker'))
    .description('Start a worker that consumes tasks from the broker')
    .option('-c, --concurrency <n>', 'tasks in flight at once (default: worker_concurrency or the CPU count)', wholeNumber)
    .option('-Q, --queues <list>', 'comma-separated queues to consume (default: task_queues / celery)')
    .option('-X, --exclude-queues <list>', 'comma-separated queues not to consume')
    .option('-n, --hostname <name>', 'node name; %h, %n, %d expand (default: celery@%h)')
    .option('-l, --loglevel <level>', 'DEBUG, INFO, WARNING, ERROR or CRITICAL', logLevel, 'WARNING')
    .addOption(new Option('-P, --pool <kind>', 'execution pool (default: worker_pool, else async)').choices(['async', 'solo', 'threads', 'prefork', 'processes']))
    .option('--autoscale <max,min>', 'threads/prefork: grow to max children while tasks wait, shrink to min when idle')
    .option('--max-tasks-per-child <n>', 'threads/prefork: replace a child after n tasks (worker_max_tasks_per_child)', wholeNumber)
    .option('--max-memory-per-child <KiB>', 'threads/prefork: replace a child above this much memory after a task (worker_max_memory_per_child)', wholeNumber)
    .option('--prefetch-multiplier <n>', 'messages reserved per concurrency slot (worker_prefetch_multiplier)', wholeNumber)
    .option('-E, --events', 'send task events (for monitors)')
    .option('-f, --logfile <path>', 'log to this file instead of stderr')
    .option('-S, --statedb <path>', 'file that keeps revoked task ids across restarts (worker_state_db)')
    .option('-B, --beat', 'also run the periodic task scheduler (beat) in this process; several may run: one leader sends')
    .option('-s, --schedule <file>', 'with -B: schedule file, where the broker keeps no beat state (beat_schedule_filename)')
    .option('--no-banner', 'do not print the start-up banner')
    .option('--nodes <n>', 'run n worker nodes in separate processes, each consuming from the broker (names celery1@%h, celery2@%h …; -B runs in node 1 only; -S gets .1, .2 … appended): for several cores with the async pool', wholeNumber);
}

/** `celeriac worker`: start a worker (Celery's `celery worker` flags). */
export function workerCommand(): Command {
  return workerOptions().action(async (_opts, command: Command) => {
      await runAction(async () => {
        const app = await loadAppFrom(command);
        const spec = appFlags(command).app;
        return runWorker(app, command.opts<WorkerFlags>(), spec ? await resolveAppSpec(spec, app) : undefined);
      });
    });
}

/** Option parsers: a bad value is a usage error (exit 2), reported by commander with the option's name. */
function wholeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('Give a whole number (0, 1, 2 …).');
  return n;
}

function logLevel(value: string): string {
  try {
    toLogLevel(value);
  } catch {
    throw new InvalidArgumentError('Use DEBUG, INFO, WARNING, ERROR or CRITICAL.');
  }
  return value;
}

/** Node `index` of `--nodes`: its own name and state file; beat runs in node 1 only. */
function nodeFlags(f: WorkerFlags, index: number): WorkerFlags {
  return {
    ...f,
    hostname: nodeName(f.hostname ?? 'celery@%h', index),
    statedb: f.statedb === undefined ? undefined : `${f.statedb}.${index}`,
    beat: f.beat && index === 1,
    banner: f.banner !== false && index === 1,
  };
}

function toWorkerOptions(f: WorkerFlags, appModule: string | undefined): WorkerOptions {
  const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    concurrency: f.concurrency,
    queues: list(f.queues),
    excludeQueues: list(f.excludeQueues),
    hostname: f.hostname,
    loglevel: f.loglevel,
    pool: f.pool,
    appModule,
    autoscale: f.autoscale,
    maxTasksPerChild: f.maxTasksPerChild,
    maxMemoryPerChild: f.maxMemoryPerChild,
    prefetchMultiplier: f.prefetchMultiplier,
    events: f.events,
    logfile: f.logfile,
    banner: f.banner,
    statedb: f.statedb,
    redirectStdouts: true,
  };
}

/** Start a worker and resolve with its exit code when it has shut down. */
export async function runWorker(app: Celery, given: WorkerFlags, appModule?: string): Promise<number> {
  const nodes = given.nodes ?? 1;
  const index = nodeIndex();
  if (nodes > 1 && index === undefined) return runNodes(nodes);
  const flags = index === undefined ? given : nodeFlags(given, index);
  await importDefaultModules(app.conf);
  const worker = new Worker(app, toWorkerOptions(flags, appModule));
  if (app.tasks.names().every((name) => name.startsWith('celery.'))) {
    worker.logger.warn(`No tasks are registered: every task this worker receives will fail as unregistered. Name the module that defines them (celeriac worker -A tasks.ts), or list modules in the imports setting${appModule ? '' : ' (no -A was given)'}.`);
  }
  if (flags.beat) {
    // Started first, so a bad schedule stops the command before the worker consumes anything.
    const beat = new Beat(app, { scheduleFile: flags.schedule });
    await beat.start();
    app.signals.connect('worker_shutdown', () => beat.stop());
  }
  // The exit code is read once the worker is done (a cold shutdown: 1), so no later callback can lower it.
  const signals = installShutdownSignals(worker, () => undefined);
  const unwatch = startedByNpm()
    ? whenOrphaned((pid) => {
      worker.logger.warn(`The parent process (pid ${pid}, npm's shell) exited: warm shutdown, as on SIGTERM.`);
      process.kill(process.pid, 'SIGTERM');
    })
    : () => undefined;
  await worker.start();
  await worker.done;
  unwatch();
  signals.uninstall();
  return worker.failure ? 1 : signals.exitCode;
}

/**
 * app.workerMain(argv): the same worker command, parsed from argv, for this app. `-A module:app` there only tells
 * threads/prefork children which module to import (it must not start a worker when imported).
 */
export async function workerMain(app: Celery, argv: readonly string[]): Promise<void> {
  const args = argv[0] === 'worker' ? argv.slice(1) : argv;
  const command = workerOptions().exitOverride();
  command.parse([...args], { from: 'user' });
  const flags = command.opts<WorkerFlags>();
  const appModule = flags.app ? await resolveAppSpec(flags.app, app) : undefined;
  await runWorker(app, flags, appModule).then((code) => process.exit(code));
}
