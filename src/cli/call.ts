// `celeriac call NAME`: send a task by name and print its id (Celery's `celery call`).

import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseJson as parseJsonText } from '../protocol/json.js';
import { loadAppFrom, runAction, withAppOptions } from './common.js';
import { EX_OK } from './exit-codes.js';

interface CallFlags {
  args: string;
  kwargs: string;
  countdown?: string;
  eta?: string;
  expires?: string;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  serializer?: string;
  priority?: string;
}

/** `celeriac call`: send a task by name with JSON args and kwargs; prints its id. */
export function callCommand(): Command {
  return withAppOptions(new Command('call'))
    .description('Send a task by name and print its id')
    .argument('<name>', 'registered task name, e.g. tasks.add')
    .option('-a, --args <json>', 'positional arguments as a JSON array', '[]')
    .option('-k, --kwargs <json>', 'keyword arguments as a JSON object', '{}')
    .option('--countdown <seconds>', 'run no sooner than this many seconds from now')
    .option('--eta <iso>', 'run no sooner than this time (ISO 8601)')
    .option('--expires <seconds|iso>', 'do not run after this (seconds from now, or ISO 8601)')
    .option('--queue <name>', 'queue to send to')
    .option('--exchange <name>', 'exchange to send to')
    .option('--routing-key <key>', 'routing key')
    .option('--serializer <name>', 'json, msgpack or yaml')
    .option('--priority <n>', 'message priority')
    .action(async (name: string, flags: CallFlags, command: Command) => {
      await runAction(async () => {
        const args = parseJson(flags.args, '--args', Array.isArray, 'a JSON array such as [2, 3]') as unknown[];
        const kwargs = parseJson(flags.kwargs, '--kwargs', (v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'a JSON object such as {"x": 1}') as Record<string, unknown>;
        const app = await loadAppFrom(command);
        try {
          const expires = flags.expires === undefined ? undefined : Number.isNaN(Number(flags.expires)) ? flags.expires : Number(flags.expires);
          const result = await app.sendTask(name, args, kwargs, {
            countdown: flags.countdown === undefined ? undefined : Number(flags.countdown),
            eta: flags.eta,
            expires,
            queue: flags.queue,
            exchange: flags.exchange,
            routingKey: flags.routingKey,
            serializer: flags.serializer,
            priority: flags.priority === undefined ? undefined : Number(flags.priority),
          });
          process.stdout.write(`${result.id}\n`);
          return EX_OK;
        } finally {
          await app.close();
        }
      });
    });
}

function parseJson(text: string, flag: string, check: (v: unknown) => boolean, expected: string): unknown {
  let value: unknown;
  try {
    // Lossless: --args '[9223372036854775807]' arrives as that integer (bigint), as Python's json reads it.
    value = parseJsonText(text);
  } catch {
    throw usage(`${flag} is not valid JSON: ${text}. Give ${expected}.`);
  }
  if (!check(value)) throw usage(`${flag} must be ${expected}; got ${text}.`);
  return value;
}

/** A usage error (UsageError): the CLI exits with code 2. */
export function usage(message: string): UsageError {
  return Object.assign(new UsageError(message), { exitCode: 2 });
}
