// `celeriac worker`: start a worker for the -A app (Celery's `celery worker`).

import { Command, Option } from 'commander';
import type { Celery } from '../app/celery.js';
import { installShutdownSignals } from '../worker/shutdown.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';
import { loadAppFrom, runAction, withAppOptions } from './common.js';

interface WorkerFlags {
  concurrency?: string;
  queues?: string;
  excludeQueues?: string;
  hostname?: string;
  loglevel?: string;
  pool?: 'async' | 'solo';
  prefetchMultiplier?: string;
  events?: boolean;
  logfile?: string;
  banner?: boolean;
}

/** The worker command's options, without an action (shared by the CLI and app.workerMain). */
function workerOptions(): Command {
  return withAppOptions(new Command('worker'))
    .description('Start a worker that consumes tasks from the broker')
    .option('-c, --concurrency <n>', 'tasks in flight at once (default: worker_concurrency or the CPU count)')
    .option('-Q, --queues <list>', 'comma-separated queues to consume (default: task_queues / celery)')
    .option('-X, --exclude-queues <list>', 'comma-separated queues not to consume')
    .option('-n, --hostname <name>', 'node name; %h, %n, %d expand (default: celery@%h)')
    .option('-l, --loglevel <level>', 'DEBUG, INFO, WARNING, ERROR or CRITICAL', 'WARNING')
    .addOption(new Option('-P, --pool <kind>', 'execution pool').choices(['async', 'solo']).default('async'))
    .option('--prefetch-multiplier <n>', 'messages reserved per concurrency slot (worker_prefetch_multiplier)')
    .option('-E, --events', 'send task events (for monitors)')
    .option('-f, --logfile <path>', 'log to this file instead of stderr')
    .option('--no-banner', 'do not print the start-up banner');
}

export function workerCommand(): Command {
  return workerOptions().action(async (_opts, command: Command) => {
      await runAction(async () => {
        const app = await loadAppFrom(command);
        return runWorker(app, command.opts<WorkerFlags>());
      });
    });
}

function toWorkerOptions(f: WorkerFlags): WorkerOptions {
  const int = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} takes a whole number, got '${v}'.`);
    return n;
  };
  const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    concurrency: int(f.concurrency, '--concurrency'),
    queues: list(f.queues),
    excludeQueues: list(f.excludeQueues),
    hostname: f.hostname,
    loglevel: f.loglevel,
    pool: f.pool,
    prefetchMultiplier: int(f.prefetchMultiplier, '--prefetch-multiplier'),
    events: f.events,
    logfile: f.logfile,
    banner: f.banner,
  };
}

/** Start a worker and resolve with its exit code when it has shut down. */
export async function runWorker(app: Celery, flags: WorkerFlags): Promise<number> {
  const worker = new Worker(app, toWorkerOptions(flags));
  let exitCode = 0;
  const uninstall = installShutdownSignals(worker, (code) => {
    exitCode = code;
  });
  await worker.start();
  await worker.done;
  uninstall();
  return exitCode;
}

/** app.workerMain(argv): the same worker command, parsed from argv, for this app. */
export async function workerMain(app: Celery, argv: readonly string[]): Promise<void> {
  const args = argv[0] === 'worker' ? argv.slice(1) : argv;
  const command = workerOptions().exitOverride();
  command.parse([...args], { from: 'user' });
  await runWorker(app, command.opts<WorkerFlags>()).then((code) => process.exit(code));
}
