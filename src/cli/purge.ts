// `celeriac purge`: delete every waiting message from the app's queues (Celery's `celery purge`).

import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { loadAppFrom, runAction, withAppOptions } from './common.js';
import { EX_OK } from './exit-codes.js';
import { usage } from './call.js';

/** `celeriac purge`: delete all waiting messages from the queues. */
export function purgeCommand(): Command {
  return withAppOptions(new Command('purge'))
    .description('Erase all messages from the task queues (cannot be undone)')
    .option('-Q, --queues <list>', 'comma-separated queues (default: task_queues / celery)')
    .option('-X, --exclude-queues <list>', 'comma-separated queues to leave alone')
    .option('-f, --force', 'do not ask for confirmation')
    .action(async (flags: { queues?: string; excludeQueues?: string; force?: boolean }, command: Command) => {
      await runAction(async () => {
        const app = await loadAppFrom(command);
        try {
          const configured = (app.conf.get('task_queues') as Array<{ name: string }> | null)?.map((q) => q.name) ?? [String(app.conf.get('task_default_queue') ?? 'celery')];
          const excluded = new Set(flags.excludeQueues?.split(',').map((s) => s.trim()) ?? []);
          const queues = (flags.queues?.split(',').map((s) => s.trim()).filter(Boolean) ?? configured).filter((q) => !excluded.has(q));
          if (!flags.force) {
            if (!process.stdin.isTTY) throw usage('purge needs confirmation: run it in a terminal or pass -f.');
            const rl = createInterface({ input: process.stdin, output: process.stdout });
            const answer = await rl.question(`You are about to delete all messages from ${queues.length} queue(s): ${queues.join(', ')}.\nAre you sure? [yes/NO] `);
            rl.close();
            if (!/^y(es)?$/i.test(answer.trim())) return EX_OK;
          }
          const transport = await app.getTransport();
          let total = 0;
          for (const q of queues) total += await transport.purge(q);
          process.stdout.write(`Purged ${total} message${total === 1 ? '' : 's'} from ${queues.length} known task queue${queues.length === 1 ? '' : 's'}.\n`);
          return EX_OK;
        } finally {
          await app.close();
        }
      });
    });
}
