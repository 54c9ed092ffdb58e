// `celeriac beat`: run the periodic task scheduler for the -A app (Celery's `celery beat`). Any number may run on
// one broker: they elect one leader, which alone sends (see README, "Periodic tasks").

import { Command } from 'commander';
import type { Celery } from '../app/celery.js';
import { Beat, type BeatOptions } from '../beat/beat.js';
import { usage } from './call.js';
import { loadAppFrom, runAction, withAppOptions } from './common.js';
import { startedByNpm, whenOrphaned } from './orphan-watch.js';

interface BeatFlags {
  schedule?: string;
  maxInterval?: string;
  loglevel?: string;
  logfile?: string;
}

/** Number of seconds from a flag, or a usage error naming the flag. */
export function secondsFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw usage(`${flag} takes a number of seconds > 0, got '${value}'.`);
  return n;
}

/** The `beat` subcommand: -A, -b, -s, --max-interval, -l, -f. */
export function beatCommand(): Command {
  return withAppOptions(new Command('beat'))
    .description('Start the periodic task scheduler (several may run: one leader sends)')
    .option('-s, --schedule <file>', 'schedule file, where the broker keeps no beat state (beat_schedule_filename)')
    .option('--max-interval <seconds>', 'longest sleep between schedule checks (beat_max_loop_interval)')
    .option('-l, --loglevel <level>', 'DEBUG, INFO, WARNING, ERROR or CRITICAL', 'WARNING')
    .option('-f, --logfile <path>', 'log to this file instead of stderr')
    .action(async (_opts, command: Command) => {
      await runAction(async () => {
        const flags = command.opts<BeatFlags>();
        const app = await loadAppFrom(command);
        app.log.setup({ level: flags.loglevel ?? 'WARNING', file: flags.logfile ?? (app.conf.get('beat_logfile') as string | null) ?? null });
        return runBeat(app, { scheduleFile: flags.schedule, maxInterval: secondsFlag(flags.maxInterval, '--max-interval') });
      });
    });
}

/** Run beat until SIGTERM/SIGINT; resolves with the exit code once it has stopped and the app is closed. */
export async function runBeat(app: Celery, options: BeatOptions): Promise<number> {
  const beat = new Beat(app, options);
  await beat.start();
  process.stdout.write(`celeriac beat: ${beat.info().entries.length} entries; state in ${beat.info().store}. Ctrl+C stops it.\n`);
  let unwatch = (): void => undefined;
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // Started through npx/npm run, a SIGTERM to npm's PID ends only npm's shell: stop with it, as the worker does.
    unwatch = startedByNpm() ? whenOrphaned(stop) : unwatch;
  });
  unwatch();
  await beat.stop();
  await app.close();
  return 0;
}
