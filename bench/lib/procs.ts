// A measured worker process: spawned with the system's own command line, its process tree sampled from /proc
// (peak RSS, and PSS so that pages shared between prefork children count once), stopped by PID.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WorkerSpec {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface Memory {
  /** Peak of the summed RSS of the process tree, MiB. */
  rssMiB: number;
  /** Peak of the summed PSS of the process tree, MiB. */
  pssMiB: number;
  /** Most processes seen in the tree at once. */
  processes: number;
}

export interface RunningWorker {
  readonly pid: number;
  /** performance.now() just before spawn. */
  readonly startedAt: number;
  /** Set once the process has exited (it should not, before stop()). */
  exitCode(): number | null | undefined;
  /** The last lines the worker printed, for error messages. */
  output(): string;
  memory(): Memory;
  stop(): Promise<void>;
}

const SAMPLE_MS = 100;
const kib = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // the process ended between listing and reading
  }
}

/** The PIDs of `root` and all its descendants, from the parent field of /proc/<pid>/stat. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOr(`/proc/${entry}/stat`);
    // The command name may hold spaces and parentheses: fields after the last ')' are fixed.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(Number(entry));
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

/** Microseconds per clock tick of /proc/<pid>/stat's utime and stime (USER_HZ is 100 on Linux). */
export const TICK_US = 10_000;

/** User + system CPU ticks a process has used so far (0 once it is gone). */
export function cpuTicks(pid: number): number {
  const stat = readOr(`/proc/${pid}/stat`);
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of proc(5)
}

/** CPU ticks of a whole process tree (prefork children included). */
export function treeCpuTicks(root: number): number {
  return processTree(root).reduce((sum, p) => sum + cpuTicks(p), 0);
}

export function startWorker(spec: WorkerSpec): RunningWorker {
  const startedAt = performance.now();
  const proc = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${spec.command}`);
  const pid = proc.pid;
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  let code: number | null | undefined;
  const exited = new Promise<void>((resolve) => proc.once('exit', (c) => {
    code = c; // null when a signal ended it
    resolve();
  }));

  const peak: Memory = { rssMiB: 0, pssMiB: 0, processes: 0 };
  const sample = () => {
    if (code !== undefined) return;
    let rss = 0;
    let pss = 0;
    const tree = processTree(pid);
    for (const p of tree) {
      rss += kib(readOr(`/proc/${p}/status`), 'VmRSS');
      pss += kib(readOr(`/proc/${p}/smaps_rollup`), 'Pss');
    }
    peak.rssMiB = Math.max(peak.rssMiB, rss / 1024);
    peak.pssMiB = Math.max(peak.pssMiB, pss / 1024);
    peak.processes = Math.max(peak.processes, tree.length);
  };
  const timer = setInterval(sample, SAMPLE_MS);

  return {
    pid,
    startedAt,
    exitCode: () => code,
    output: () => tail.trim(),
    memory: () => ({ ...peak }),
    async stop() {
      sample();
      clearInterval(timer);
      if (code !== undefined) return;
      const tree = processTree(pid);
      proc.kill('SIGTERM'); // a warm shutdown, as an operator would stop it
      await Promise.race([exited, sleep(10_000)]);
      if (code !== undefined) return;
      for (const p of tree) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
}
