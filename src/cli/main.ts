// The `celeriac` program: one subcommand per file, as in Celery's celery/bin/.

import { Command, CommanderError } from 'commander';
import { VERSION } from '../utils/version.js';
import { callCommand } from './call.js';
import { withAppOptions } from './common.js';
import { EX_USAGE } from './exit-codes.js';
import { purgeCommand } from './purge.js';
import { resultCommand } from './result.js';
import { workerCommand } from './worker.js';
import { beatCommand } from './beat.js';
import { controlCommand, inspectCommand } from './inspect.js';
import { eventsCommand, statusCommand } from './events.js';
import { flowerCommand } from './flower.js';
import { multiCommand } from './multi.js';

/** The `celeriac` program: every subcommand, as Celery's `celery` command has them. */
export function buildProgram(): Command {
  const program = withAppOptions(new Command('celeriac'))
    .description('Celery for TypeScript: run workers, send tasks and read results')
    .version(VERSION, '--version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const command of [workerCommand(), beatCommand(), callCommand(), resultCommand(), purgeCommand(), inspectCommand(), controlCommand(), eventsCommand(), statusCommand(), flowerCommand(), multiCommand()]) {
    program.addCommand(command.exitOverride().showHelpAfterError('(run with --help for usage)'));
  }
  return program;
}

/** Parse argv and run; usage errors exit 2, --help/--version exit 0. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      const helpOrVersion = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      process.exit(helpOrVersion ? 0 : EX_USAGE);
    }
    throw error;
  }
}
