// `celeriac worker --nodes N`: N worker processes on one machine, each a whole worker node that consumes from the
// broker directly (Celery's `celery multi start N`, in the foreground), so an async pool can use every core without
// passing each task through a parent. This process only starts, signals and restarts the nodes; it consumes nothing.

import { fork, type ChildProcess } from 'node:child_process';

/** Set in a node's environment to its number (1…N): the command it runs then starts one worker, not N. */
export const NODE_ENV = 'CELERIAC_WORKER_NODE';

/** A node that exits this soon after it started, with an error, stops them all (bad settings, broker down). */
const EARLY_EXIT_MS = 5_000;
/** Wait before restarting a node that died later on. */
const RESTART_MS = 1_000;

/**
 * The number of this process as a node of `--nodes`, or undefined when it was not started as one. A node shuts down
 * (warm, as on SIGTERM) when the process that started it is gone.
 */
export function nodeIndex(): number | undefined {
  const value = process.env[NODE_ENV];
  if (value === undefined || !process.channel) return undefined;
  if (!watching) {
    watching = true;
    process.channel.unref();
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  return Number(value);
}
let watching = false;

/**
 * Node `index`'s name: the number goes right before the '@' (Celery multi's `celery1@host`, `celery2@host`), or at
 * the end of a name without one.
 */
export function nodeName(pattern: string, index: number): string {
  const at = pattern.indexOf('@');
  return at < 0 ? `${pattern}${index}` : `${pattern.slice(0, at)}${index}${pattern.slice(at)}`;
}

/**
 * Start `count` nodes running this same command line and resolve with the highest exit code once all have ended.
 * Every signal this process gets (SIGTERM, SIGINT, SIGQUIT) is passed to each node, which shuts down as a single
 * worker would; a node that dies later on is restarted. The nodes run in their own process groups, so a Ctrl+C
 * in the terminal reaches them once, through here, and they stop when this process is gone.
 */
export function runNodes(count: number): Promise<number> {
  const nodes = new Map<number, ChildProcess>();
  let stopping = false;
  let worst = 0;
  return new Promise((resolve) => {
    const start = (index: number) => {
      const startedAt = Date.now();
      const child = fork(process.argv[1]!, process.argv.slice(2), {
        env: { ...process.env, [NODE_ENV]: String(index) },
        execArgv: process.execArgv,
        detached: true,
        stdio: 'inherit',
      });
      nodes.set(index, child);
      child.once('exit', (code, signal) => {
        nodes.delete(index);
        const exitCode = code ?? 1;
        if (!stopping && exitCode !== 0 && Date.now() - startedAt < EARLY_EXIT_MS) {
          process.stderr.write(`Worker node ${index} exited (${exitCode}) while starting: stopping the other nodes.\n`);
          worst = Math.max(worst, exitCode);
          forward('SIGTERM');
        } else if (!stopping) {
          process.stderr.write(`Worker node ${index} ended (${signal ?? exitCode}): restarting it.\n`);
          setTimeout(() => stopping || start(index), RESTART_MS).unref();
        } else {
          worst = Math.max(worst, exitCode);
        }
        finish();
      });
    };
    const finish = () => {
      if (!stopping || nodes.size > 0) return;
      for (const s of SIGNALS) process.off(s, forward);
      resolve(worst);
    };
    const forward = (signal: NodeJS.Signals) => {
      stopping = true;
      for (const child of nodes.values()) child.kill(signal);
      finish();
    };
    for (const s of SIGNALS) process.on(s, forward);
    for (let i = 1; i <= count; i++) start(i);
  });
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];
