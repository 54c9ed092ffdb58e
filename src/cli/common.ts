// Options every subcommand takes (-A, -b, --result-backend), and running a command with clean exit codes.

import type { Command } from 'commander';
import type { Celery } from '../app/celery.js';
import { describeFailure } from './exit-codes.js';
import { loadApp } from './load-app.js';

/** The flags every subcommand takes: -A, -b, --result-backend. */
export interface AppFlags {
  app?: string;
  broker?: string;
  resultBackend?: string;
}

/** Add -A, -b and --result-backend to a command. */
export function withAppOptions(command: Command): Command {
  return command
    .option('-A, --app <module>', 'the app: a module or path, optionally with :attribute (e.g. ./tasks.ts:app)')
    .option('-b, --broker <url>', 'broker URL (overrides broker_url)')
    .option('--result-backend <url>', 'result backend URL (overrides result_backend)');
}

/** Subcommand flags win over the same flags given before the subcommand. */
export function appFlags(command: Command): AppFlags {
  const own = command.opts<AppFlags>();
  const parent = command.parent?.opts<AppFlags>() ?? {};
  return { app: own.app ?? parent.app, broker: own.broker ?? parent.broker, resultBackend: own.resultBackend ?? parent.resultBackend };
}

/** Load the app named by a command's -A flag, with -b and --result-backend applied. */
export function loadAppFrom(command: Command): Promise<Celery> {
  const f = appFlags(command);
  return loadApp(f.app, { broker: f.broker, resultBackend: f.resultBackend });
}

/**
 * Run an action: errors become one line on stderr and an exit code; the app is always closed. Exits only once
 * stdout and stderr have handed everything to the OS: a pipe to a slow reader (`| wc -c`) takes 64 KiB at a time.
 */
export async function runAction(action: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await action();
  } catch (error) {
    const failure = describeFailure(error);
    process.stderr.write(`${failure.line}\n`);
    code = failure.code;
  }
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

/** Resolves once everything written to `stream` so far is written out (or the reader went away: EPIPE). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once('error', () => resolve());
    stream.write('', () => resolve());
  });
}
