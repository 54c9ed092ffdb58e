// `celeriac events`: print task and worker events as they happen (Celery's `celery events --dump`), and
// `celeriac status`: list the workers that answer a ping.

import { Command } from 'commander';
import { EventReceiver } from '../events/receiver.js';
import { setLongTimeout } from '../utils/long-timer.js';
import { usage } from './call.js';
import { loadAppFrom, runAction, withAppOptions } from './common.js';
import { EX_OK, EX_UNAVAILABLE } from './exit-codes.js';

/** `celeriac events`: print task and worker events as they arrive. */
export function eventsCommand(): Command {
  return withAppOptions(new Command('events'))
    .description('Print task and worker events as they arrive (Ctrl+C to stop)')
    .option('--json', 'one JSON object per line')
    .option('--duration <seconds>', 'stop after this many seconds')
    .action(async (flags: { json?: boolean; duration?: string }, command: Command) => {
      await runAction(async () => {
        const duration = flags.duration === undefined ? undefined : Number(flags.duration);
        if (duration !== undefined && !(Number.isFinite(duration) && duration > 0)) throw usage(`--duration takes seconds > 0, got '${flags.duration}'.`);
        const app = await loadAppFrom(command);
        const transport = await app.getTransport();
        const conf = (name: string) => app.conf.get(name);
        const receiver = new EventReceiver(transport, (e) => {
          if (flags.json) process.stdout.write(`${JSON.stringify(e)}\n`);
          else {
            const { type, hostname, timestamp, uuid, ...rest } = e;
            const when = new Date(timestamp * 1000).toISOString();
            process.stdout.write(`${when} [${hostname}] ${type}${uuid ? ` ${String(uuid)}` : ''} ${JSON.stringify(rest)}\n`);
          }
        }, {
          exchange: (conf('event_exchange') as string | null) ?? undefined,
          queuePrefix: (conf('event_queue_prefix') as string | null) ?? undefined,
          expires: conf('event_queue_expires') as number | null,
          messageTtl: conf('event_queue_ttl') as number | null,
        });
        await receiver.start();
        // As Celery's receiver (wakeup): ask workers for a heartbeat now, so they show up at once.
        await app.control.broadcast('heartbeat', {}, { reply: false }).catch(() => undefined);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
          if (duration !== undefined) setLongTimeout(resolve, duration * 1000);
        });
        await receiver.stop();
        await app.close();
        return EX_OK;
      });
    });
}

/** `celeriac status`: list the workers that answer a ping. */
export function statusCommand(): Command {
  return withAppOptions(new Command('status'))
    .description('Show the workers that answer a ping')
    .option('-t, --timeout <seconds>', 'how long to wait for replies', '1')
    .action(async (flags: { timeout: string }, command: Command) => {
      await runAction(async () => {
        const app = await loadAppFrom(command);
        try {
          const replies = await app.control.ping({ timeoutMs: Number(flags.timeout) * 1000 });
          const names = Object.keys(replies).sort();
          if (names.length === 0) {
            process.stderr.write('Error: No nodes replied within time constraint.\n');
            return EX_UNAVAILABLE;
          }
          for (const name of names) process.stdout.write(`${name}: OK\n`);
          process.stdout.write(`\n${names.length} node${names.length === 1 ? '' : 's'} online.\n`);
          return EX_OK;
        } finally {
          await app.close();
        }
      });
    });
}
