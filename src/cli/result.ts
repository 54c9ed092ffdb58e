// `celeriac result ID`: wait for and print a task's result or traceback (Celery's `celery result`).

import { Command } from 'commander';
import { RemoteTaskError } from '../errors.js';
import { loadAppFrom, runAction, withAppOptions } from './common.js';
import { EX_FAILURE, EX_OK } from './exit-codes.js';

/** `celeriac result`: print a task's result (or traceback). */
export function resultCommand(): Command {
  return withAppOptions(new Command('result'))
    .description('Print the result of a task (waits for it)')
    .argument('<task_id>', 'the task id')
    .option('-t, --task <name>', 'the task name (for error messages)')
    .option('--traceback', 'print the traceback of a failed task instead of its error')
    .option('--timeout <seconds>', 'give up after this many seconds (default: wait forever)')
    .action(async (id: string, flags: { traceback?: boolean; timeout?: string }, command: Command) => {
      await runAction(async () => {
        const app = await loadAppFrom(command);
        try {
          const result = app.AsyncResult(id);
          const timeout = flags.timeout === undefined ? undefined : Number(flags.timeout);
          const value = await result.get({ timeout, propagate: false });
          if (value instanceof RemoteTaskError) {
            process.stdout.write(`${flags.traceback ? (value.remoteTraceback ?? String(value)) : String(value)}\n`);
            return EX_FAILURE;
          }
          process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
          return EX_OK;
        } finally {
          await app.close();
        }
      });
    });
}
