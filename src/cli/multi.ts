// `celeriac multi start|stop|stopwait|restart|kill|show|names`: several detached worker nodes on this machine,
// each with a pidfile and a logfile (Celery's `celery multi`). Nodes are named (`w1 w2`, `w1@host`) or counted
// (`3` → celery1 … celery3); every other argument goes to each `celeriac worker` as it is. It never runs tasks.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { VERSION } from '../utils/version.js';
import { sleepLong } from '../utils/long-timer.js';
import { runAction } from './common.js';

/** One node of `multi`: its full name, expanded files and the worker arguments it runs with. */
export interface MultiNode {
  /** name@host, as the worker's -n. */
  readonly name: string;
  readonly pidfile: string;
  readonly logfile: string;
  /** Arguments after `celeriac` for this node's worker. */
  readonly argv: readonly string[];
}

/** What `multi` was asked for: the action, the nodes and the arguments passed through to every worker. */
export interface MultiPlan {
  readonly action: string;
  readonly nodes: readonly MultiNode[];
}

const ACTIONS = ['start', 'stop', 'stopwait', 'restart', 'kill', 'show', 'names'] as const;
/** How long stopwait/restart wait for a node to exit after SIGTERM before saying so (seconds). */
const STOP_WAIT_S = 60;

/**
 * Expand Celery's multi file patterns for `node` (name@host): %n the name, %h the host, %d its domain, %I the pool
 * process index ('' for the main process), %i the same as a number (0), %% a percent sign.
 */
export function expandMultiPattern(pattern: string, node: string): string {
  const at = node.indexOf('@');
  const name = at < 0 ? node : node.slice(0, at);
  const host = at < 0 ? hostname() : node.slice(at + 1);
  const domain = host.split('.').slice(1).join('.');
  return pattern.replace(/%([nhdIi%])/g, (_, c: string) => ({ n: name, h: host, d: domain, I: '', i: '0', '%': '%' })[c]!);
}

/**
 * Parse `multi`'s arguments as Celery does: the action, then node names or a count, then options. --pidfile and
 * --logfile (default %n.pid and %n%I.log) are multi's own; the rest goes to every worker. Throws
 * UsageError for an unknown action or no nodes.
 */
export function planMulti(args: readonly string[], host = hostname()): MultiPlan {
  const [action, ...rest] = args;
  if (!action || !(ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(`Unknown multi action ${JSON.stringify(action ?? '')}: use one of ${ACTIONS.join(', ')}, e.g. celeriac multi start w1 w2 -A proj.`);
  }
  let i = 0;
  const names: string[] = [];
  while (i < rest.length && !rest[i]!.startsWith('-')) names.push(rest[i++]!);
  let pidfile = '%n.pid';
  let logfile = '%n%I.log';
  const pass: string[] = [];
  for (; i < rest.length; i++) {
    const arg = rest[i]!;
    const own = /^--(pidfile|logfile)(?:=(.*))?$/.exec(arg);
    if (!own) {
      pass.push(arg);
      continue;
    }
    const value = own[2] ?? rest[++i];
    if (value === undefined) throw new UsageError(`--${own[1]} needs a value, e.g. --${own[1]}=%n.${own[1] === 'pidfile' ? 'pid' : 'log'}.`);
    if (own[1] === 'pidfile') pidfile = value;
    else logfile = value;
  }
  if (names.length === 0) throw new UsageError('Name the nodes (celeriac multi start w1 w2 …) or give their number (celeriac multi start 3 …).');
  const count = names.length === 1 && /^\d+$/.test(names[0]!) ? Number(names[0]) : undefined;
  const full = (count !== undefined ? Array.from({ length: count }, (_, n) => `celery${n + 1}`) : names)
    .map((n) => (n.includes('@') ? n : `${n}@${host}`));
  return {
    action,
    nodes: full.map((name) => {
      const node = { name, pidfile: resolve(expandMultiPattern(pidfile, name)), logfile: resolve(expandMultiPattern(logfile, name)) };
      return { ...node, argv: ['worker', '-n', name, '--logfile', node.logfile, ...pass] };
    }),
  };
}

/** The pid in a node's pidfile when that process is alive; undefined otherwise. */
function livePid(node: MultiNode): number | undefined {
  if (!existsSync(node.pidfile)) return undefined;
  const pid = Number(readFileSync(node.pidfile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function start(node: MultiNode, cli: string, say: (line: string) => void): boolean {
  const running = livePid(node);
  if (running !== undefined) {
    say(`\t> ${node.name}: already running (pid ${running})`);
    return true;
  }
  mkdirSync(dirname(node.logfile), { recursive: true });
  mkdirSync(dirname(node.pidfile), { recursive: true });
  const out = openSync(node.logfile, 'a');
  // A node outlives this command: no npm orphan watch (the worker would stop when npm's shell ends).
  const env = { ...process.env };
  delete env.npm_command;
  delete env.npm_lifecycle_event;
  const child = spawn(process.execPath, [...process.execArgv, cli, ...node.argv], { detached: true, stdio: ['ignore', out, out], env });
  closeSync(out);
  if (child.pid === undefined) {
    say(`\t> ${node.name}: FAILED (could not start ${process.execPath})`);
    return false;
  }
  writeFileSync(node.pidfile, `${child.pid}\n`);
  child.unref();
  say(`\t> ${node.name}: OK`);
  return true;
}

async function stop(nodes: readonly MultiNode[], signal: NodeJS.Signals, wait: boolean, say: (line: string) => void): Promise<boolean> {
  const signalled: Array<{ node: MultiNode; pid: number }> = [];
  for (const node of nodes) {
    const pid = livePid(node);
    if (pid === undefined) {
      say(`\t> ${node.name}: DOWN`);
      rmSync(node.pidfile, { force: true });
      continue;
    }
    process.kill(pid, signal);
    say(`\t> ${node.name}: ${signal.replace('SIG', '')} -> ${pid}`);
    signalled.push({ node, pid });
  }
  if (!wait || signalled.length === 0) return true;
  say(`> Waiting for ${signalled.length} ${signalled.length === 1 ? 'node' : 'nodes'} -> ${signalled.map((s) => s.pid).join(', ')}....`);
  let ok = true;
  for (const { node } of signalled) {
    const deadline = Date.now() + STOP_WAIT_S * 1000;
    while (livePid(node) !== undefined && Date.now() < deadline) await sleepLong(100);
    if (livePid(node) === undefined) {
      rmSync(node.pidfile, { force: true });
      say(`\t> ${node.name}: OK`);
    } else {
      ok = false;
      say(`\t> ${node.name}: still running after ${STOP_WAIT_S} s (warm shutdown waits for running tasks; kill it with celeriac multi kill)`);
    }
  }
  return ok;
}

/** Run a plan; resolves to the exit code (0, or 1 when a node failed to start or stop). */
export async function runMulti(plan: MultiPlan, cli: string, say: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const { action, nodes } = plan;
  if (action === 'names') {
    say(nodes.map((n) => n.name).join('\n'));
    return 0;
  }
  if (action === 'show') {
    for (const n of nodes) say([process.execPath, cli, ...n.argv].join(' '));
    return 0;
  }
  say(`celeriac multi v${VERSION}`);
  let ok = true;
  if (action === 'stop' || action === 'stopwait' || action === 'restart' || action === 'kill') {
    say('> Stopping nodes...');
    ok = await stop(nodes, action === 'kill' ? 'SIGKILL' : 'SIGTERM', action !== 'stop', say);
  }
  if (action === 'start' || action === 'restart') {
    say('> Starting nodes...');
    for (const node of nodes) ok = start(node, cli, say) && ok;
  }
  return ok ? 0 : 1;
}

/** The `multi` command: every argument after the action is read by planMulti, worker options included. */
export function multiCommand(): Command {
  return new Command('multi')
    .description('start, stop or restart several detached worker nodes with pidfiles and logfiles (Celery\'s multi): celeriac multi start w1 w2 -A proj -l INFO --pidfile=%n.pid --logfile=%n%I.log')
    .argument('<action>', ACTIONS.join(' | '))
    .argument('[nodes-and-worker-options...]', 'node names (w1 w2) or a count (3), then options for every worker')
    .allowUnknownOption()
    .helpOption('--help-multi', 'show this help')
    .action(async (action: string, rest: string[]) => {
      // The root command reads -A/-b/--result-backend itself: take multi's arguments from argv as written, the
      // ones given before `multi` (celeriac -A proj multi start …) going to every worker too.
      const argv = process.argv;
      const at = argv.indexOf('multi', 2);
      const args = at < 0 ? [action, ...rest] : [...argv.slice(at + 1), ...argv.slice(2, at)];
      await runAction(() => runMulti(planMulti(args), argv[1]!));
    });
}
