// `celeriac inspect <method>` and `celeriac control <method>`: ask running workers (Celery's inspect/control).

import { Command } from 'commander';
import type { Replies } from '../control/client.js';
import { loadAppFrom, runAction, withAppOptions } from './common.js';
import { EX_OK, EX_UNAVAILABLE } from './exit-codes.js';
import { usage } from './call.js';

/** Celery 5.6's inspect commands and how the CLI turns its words into arguments. */
const INSPECT_METHODS: Record<string, (a: string[]) => Record<string, unknown>> = {
  ping: () => ({}),
  stats: () => ({}),
  registered: (items) => ({ taskinfoitems: items }),
  active: () => ({}),
  reserved: () => ({}),
  scheduled: () => ({}),
  revoked: () => ({}),
  active_queues: () => ({}),
  query_task: (ids) => ({ ids }),
  conf: ([withDefaults]) => ({ with_defaults: /^(1|true|yes|on)$/i.test(withDefaults ?? '') }),
  clock: () => ({}),
  report: () => ({}),
  memsample: () => ({}),
  memdump: ([n]) => (n ? { samples: Number(n) } : {}),
  objgraph: ([type, num, depth]) => ({ ...(type ? { type } : {}), ...(num ? { num: Number(num) } : {}), ...(depth ? { max_depth: Number(depth) } : {}) }),
};

interface Flags {
  destination?: string;
  timeout: string;
  json?: boolean;
}

function withBroadcastOptions(command: Command): Command {
  return withAppOptions(command)
    .option('-d, --destination <names>', 'comma-separated node names (default: all workers)')
    .option('-t, --timeout <seconds>', 'how long to wait for replies', '1')
    .option('-j, --json', 'print the replies as JSON');
}

/** Print replies like Celery: `->  name: OK` then the reply indented; JSON with -j. */
function print(replies: Replies, json: boolean | undefined): number {
  const names = Object.keys(replies);
  if (names.length === 0) {
    process.stderr.write('Error: No nodes replied within time constraint.\n');
    return EX_UNAVAILABLE;
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(replies)}\n`);
    return EX_OK;
  }
  for (const name of names) {
    const reply = replies[name] as { ok?: unknown; error?: unknown } | unknown;
    const r = reply as { ok?: unknown; error?: unknown };
    const status = r && typeof r === 'object' && 'error' in r ? 'ERROR' : 'OK';
    // Commands Celery answers with None (heartbeat, election) print as Python's CLI prints them.
    const body = reply === null ? 'None' : r && typeof r === 'object' && ('ok' in r || 'error' in r) ? String(r.ok ?? r.error) : JSON.stringify(reply, null, 2);
    process.stdout.write(`->  ${name}: ${status}\n${body.split('\n').map((l) => `        ${l}`).join('\n')}\n`);
  }
  process.stdout.write(`\n${names.length} node${names.length === 1 ? '' : 's'} online.\n`);
  return EX_OK;
}

function broadcastOptions(f: Flags) {
  const timeoutMs = Number(f.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw usage(`--timeout takes seconds > 0, got '${f.timeout}'.`);
  return { destination: f.destination?.split(',').map((s) => s.trim()).filter(Boolean), timeoutMs };
}

/** `celeriac inspect`: ask workers what they hold (active, reserved, stats …). */
export function inspectCommand(): Command {
  return withBroadcastOptions(new Command('inspect'))
    .description(`Inspect running workers: ${Object.keys(INSPECT_METHODS).join(', ')}`)
    .argument('<method>', 'what to ask')
    .argument('[args...]', 'arguments (task ids for query_task)')
    .action(async (method: string, args: string[], flags: Flags, command: Command) => {
      await runAction(async () => {
        const build = Object.hasOwn(INSPECT_METHODS, method) ? INSPECT_METHODS[method] : undefined;
        if (!build) throw usage(`Unknown inspect method '${method}'. Use one of: ${Object.keys(INSPECT_METHODS).join(', ')}.`);
        const app = await loadAppFrom(command);
        try {
          return print(await app.control.broadcast(method, build(args), broadcastOptions(flags)), flags.json);
        } finally {
          await app.close();
        }
      });
    });
}

const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));

/** Celery 5.6's control commands: their CLI words (Celery's signatures) and the arguments sent. */
const CONTROL_METHODS: Record<string, { args: string[]; build: (a: string[]) => Record<string, unknown> }> = {
  revoke: { args: ['task_id...'], build: (ids) => ({ task_id: ids, terminate: false }) },
  terminate: { args: ['signal', 'task_id...'], build: ([signal, ...ids]) => ({ task_id: ids, terminate: true, signal }) },
  revoke_by_stamped_headers: { args: ['key=value...'], build: (headers) => ({ headers, terminate: false }) },
  rate_limit: { args: ['task_name', 'rate_limit'], build: ([task_name, rate_limit]) => ({ task_name, rate_limit }) },
  time_limit: { args: ['task_name', 'soft', 'hard?'], build: ([task_name, soft, hard]) => ({ task_name, soft: num(soft), hard: num(hard) }) },
  election: { args: ['id', 'topic', 'action?'], build: ([id, topic, action]) => ({ id, topic, action: action ?? null }) },
  enable_events: { args: [], build: () => ({}) },
  disable_events: { args: [], build: () => ({}) },
  heartbeat: { args: [], build: () => ({}) },
  pool_grow: { args: ['n?'], build: ([n]) => ({ n: num(n) ?? 1 }) },
  pool_shrink: { args: ['n?'], build: ([n]) => ({ n: num(n) ?? 1 }) },
  pool_restart: { args: [], build: () => ({ modules: null, reload: false, reloader: null }) },
  autoscale: { args: ['max', 'min?'], build: ([max, min]) => ({ max: num(max), min: num(min) }) },
  shutdown: { args: [], build: () => ({}) },
  add_consumer: {
    args: ['queue', 'exchange?', 'type?', 'routing_key?'],
    build: ([queue, exchange, type, routing_key]) => ({ queue, exchange: exchange ?? null, exchange_type: type ?? 'direct', routing_key: routing_key ?? null }),
  },
  cancel_consumer: { args: ['queue'], build: ([queue]) => ({ queue }) },
  ping: { args: [], build: () => ({}) },
};

/** `celeriac control`: change workers at run time (rate_limit, revoke, shutdown …). */
export function controlCommand(): Command {
  return withBroadcastOptions(new Command('control'))
    .description(`Change running workers: ${Object.keys(CONTROL_METHODS).join(', ')} (e.g. control rate_limit tasks.add 10/m)`)
    .argument('<method>', 'the command')
    .argument('[args...]', 'its arguments')
    .action(async (method: string, args: string[], flags: Flags, command: Command) => {
      await runAction(async () => {
        const spec = Object.hasOwn(CONTROL_METHODS, method) ? CONTROL_METHODS[method] : undefined;
        if (!spec) throw usage(`Unknown control command '${method}'. Use one of: ${Object.keys(CONTROL_METHODS).join(', ')}.`);
        const required = spec.args.filter((a) => !a.endsWith('...') && !a.endsWith('?')).length;
        if (args.length < required) throw usage(`control ${method} needs: ${spec.args.join(' ')}.`);
        const app = await loadAppFrom(command);
        try {
          const wire = method === 'terminate' ? 'revoke' : method;
          return print(await app.control.broadcast(wire, spec.build(args), broadcastOptions(flags)), flags.json);
        } finally {
          await app.close();
        }
      });
    });
}
