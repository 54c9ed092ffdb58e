// Every remote-control command a celeriac worker answers: Celery 5.6's list (inspect and control), with the old
// dump_* aliases Celery still accepts. The README's command table mirrors this one.

import type { CommandTable } from './command.js';
import { inspectCommands } from './inspect.js';
import { runtimeCommands } from './runtime.js';
import { taskCommands } from './tasks.js';

/** The command table of one worker (its own memsample buffer), aliases included. */
export function workerCommands(): CommandTable {
  const table: CommandTable = { ...inspectCommands([]), ...taskCommands(), ...runtimeCommands() };
  for (const command of Object.values(table)) if (command.alias) table[command.alias] = command;
  return table;
}
