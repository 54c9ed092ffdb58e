// `celeriac flower`: run the dashboard (Flower's REST API, /metrics and the web page) for the -A app on its own HTTP
// server, with Flower's option names (--port, --address, --basic-auth, --max-tasks …) and their FLOWER_* variables.

import { createServer } from 'node:http';
import { Command, Option } from 'commander';
import { redactUrl } from '../config/urls.js';
import { usage } from './call.js';
import { loadAppFrom, runAction, withAppOptions } from './common.js';
import { EX_OK } from './exit-codes.js';

interface FlowerFlags {
  port: string;
  address: string;
  basicAuth?: string;
  authToken?: string;
  unauthenticatedApi?: boolean;
  maxTasks: string;
  maxWorkers: string;
  inspectTimeout: string;
  enableEvents: boolean;
  urlPrefix?: string;
  taskRuntimeMetricBuckets?: string;
}

/** [flags, description, FLOWER_* variable, default]: Flower's options (it also accepts them with '_' for '-'). */
const OPTIONS: ReadonlyArray<readonly [string, string, string, string?]> = [
  ['--port <port>', 'port to listen on', 'FLOWER_PORT', '5555'],
  ['--address <address>', 'address to listen on (Flower: all interfaces; here loopback unless you say so)', 'FLOWER_ADDRESS', '127.0.0.1'],
  ['--basic-auth <user:password,...>', 'HTTP basic auth: comma-separated user:password pairs', 'FLOWER_BASIC_AUTH'],
  ['--auth-token <token>', 'accept Authorization: Bearer <token>', 'FLOWER_AUTH_TOKEN'],
  ['--max-tasks <n>', 'tasks kept in memory', 'FLOWER_MAX_TASKS', '10000'],
  ['--max-workers <n>', 'workers kept in memory', 'FLOWER_MAX_WORKERS', '5000'],
  ['--inspect-timeout <ms>', 'how long to wait for inspect replies, milliseconds', 'FLOWER_INSPECT_TIMEOUT', '1000'],
  ['--url-prefix <path>', 'serve under this path (behind a reverse proxy)', 'FLOWER_URL_PREFIX'],
  ['--task-runtime-metric-buckets <s,...>', 'flower_task_runtime_seconds buckets, seconds', 'FLOWER_TASK_RUNTIME_METRIC_BUCKETS'],
];

/** `celeriac flower`: serve the dashboard until SIGINT or SIGTERM. */
export function flowerCommand(): Command {
  const command = withAppOptions(new Command('flower'))
    .description('Run the web dashboard: workers, tasks, queues, actions; Flower\'s REST API and Prometheus /metrics');
  for (const [flags, description, env, fallback] of OPTIONS) {
    command.addOption(new Option(flags, description).env(env).default(fallback));
    const [name, arg] = flags.split(' ') as [string, string];
    const twin = `--${name.slice(2).replace(/-/g, '_')}`;
    if (twin !== name) command.addOption(new Option(`${twin} ${arg}`).hideHelp());
  }
  command
    .addOption(new Option('--unauthenticated-api', 'serve the REST API without authentication when none is configured').env('FLOWER_UNAUTHENTICATED_API'))
    .addOption(new Option('--no-enable-events', 'do not send enable_events to workers every 5 s'))
    .action(async (given: FlowerFlags & Record<string, string | undefined>, cmd: Command) => {
      await runAction(async () => {
        // Flower's underscore spellings (--basic_auth) win when given, as they are given explicitly.
        const flags = { ...given } as FlowerFlags & Record<string, unknown>;
        for (const [key, value] of Object.entries(given)) {
          if (key.includes('_') && value !== undefined) flags[key.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())] = value;
        }
        const port = whole(flags.port, '--port', 0, 65535);
        const options = {
          basicAuth: flags.basicAuth, authToken: flags.authToken,
          unauthenticatedApi: flags.unauthenticatedApi === true || /^(1|true|yes)$/i.test(String(flags.unauthenticatedApi ?? '')),
          maxTasks: whole(flags.maxTasks, '--max-tasks', 1), maxWorkers: whole(flags.maxWorkers, '--max-workers', 1),
          inspectTimeout: whole(flags.inspectTimeout, '--inspect-timeout', 1), enableEvents: flags.enableEvents,
          prefix: flags.urlPrefix ? `/${flags.urlPrefix.replace(/^\/+|\/+$/g, '')}` : undefined,
          runtimeBuckets: flags.taskRuntimeMetricBuckets ? buckets(flags.taskRuntimeMetricBuckets) : undefined,
        };
        const app = await loadAppFrom(cmd);
        const { createDashboard } = await import('../dashboard/index.js');
        const dashboard = createDashboard(app, { ...options, onError: (e) => process.stderr.write(`[flower] ${(e as Error)?.message ?? String(e)}\n`) });
        const server = createServer(dashboard);
        const stopped = new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, flags.address, () => resolve());
        });
        const where = server.address();
        const shown = typeof where === 'object' && where ? `${where.family === 'IPv6' ? `[${where.address}]` : where.address}:${where.port}` : String(where);
        process.stderr.write(`[flower] Visit me at http://${shown}${options.prefix ?? ''}/\n[flower] Broker: ${redactUrl(app.brokerUrl())}\n`);
        if (!options.basicAuth && !options.authToken) {
          process.stderr.write(options.unauthenticatedApi ? '[flower] No authentication: the REST API is open to anyone who can reach this address.\n' : '[flower] No authentication configured: the REST API answers 401 (give --basic-auth or --auth-token, or --unauthenticated-api).\n');
        }
        await stopped;
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await dashboard.close();
        await app.close();
        return EX_OK;
      });
    });
  return command;
}

function whole(text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw usage(`${flag} must be a whole number from ${min} to ${max}; got '${text}'.`);
  return n;
}

function buckets(text: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isFinite(v) || v <= 0) || values.some((v, i) => i > 0 && v <= values[i - 1]!)) {
    throw usage(`--task-runtime-metric-buckets must be increasing seconds > 0, comma-separated (e.g. 0.1,1,10); got '${text}'.`);
  }
  return values;
}
