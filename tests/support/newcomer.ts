// The newcomer's view of celeriac: the package as `npm pack` makes it, installed from the tarball into fresh
// `npm init -y` projects (CommonJS, and "type": "module") in a temp dir, and the CLI run as a subprocess the way a user
// runs it. Packed and installed once per content of dist/, bin/ and package.json; other test files and later runs reuse it.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from './shared.js';

export interface NewcomerProjects {
  /** A fresh `npm init -y` project (npm writes "type": "commonjs") with the packed celeriac installed. */
  readonly cjs: string;
  /** The same with "type": "module". */
  readonly esm: string;
  readonly tarball: string;
}

// One folder per checkout (several worktrees share /tmp); inside it, one per build.
const ROOT = join(tmpdir(), `celeriac-newcomer-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 8)}`);

/** The two projects for the current build, packing and installing them first if this build has none yet. */
export async function newcomerProjects(): Promise<NewcomerProjects> {
  const dir = join(ROOT, buildHash());
  const projects = { cjs: join(dir, 'cjs'), esm: join(dir, 'esm'), tarball: join(dir, 'celeriac.tgz') };
  const ready = join(dir, 'ready');
  if (existsSync(ready)) return projects;
  mkdirSync(ROOT, { recursive: true });
  const lock = `${dir}.lock`;
  if (!takeLock(lock)) {
    await waitForFile(ready, 5 * 60_000);
    return projects;
  }
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const packed = (await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot })).stdout.trim().split('\n').pop()!;
    copyFileSync(join(dir, packed), projects.tarball);
    await Promise.all([install(projects.cjs, projects.tarball, 'commonjs'), install(projects.esm, projects.tarball, 'module')]);
    writeFileSync(ready, new Date().toISOString());
    for (const old of readdirSync(ROOT)) if (!dir.endsWith(old) && !old.endsWith('.lock')) rmSync(join(ROOT, old), { recursive: true, force: true });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return projects;
}

/** A new empty directory inside a project: its package.json (type) and node_modules apply, its files are the test's own. */
export function scratchDir(project: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(project, 'case-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** What dist/, bin/ and package.json hold: a new build with the same content reuses the install. */
function buildHash(): string {
  if (!existsSync(join(repoRoot, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` before the newcomer tests.');
  const hash = createHash('sha256');
  const add = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(path, name));
    } else {
      hash.update(relative(repoRoot, path)).update(readFileSync(path));
    }
  };
  for (const part of ['package.json', 'bin', 'dist']) add(join(repoRoot, part));
  return hash.digest('hex').slice(0, 16);
}

/** mkdir is atomic: one test process installs, the others wait. A lock older than ten minutes is a crashed run's. */
function takeLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch {
    if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) < 10 * 60_000) return false;
    rmSync(lock, { recursive: true, force: true });
    return takeLock(lock);
  }
}

function waitForFile(path: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    mkdirSync(join(path, '..'), { recursive: true });
    const watcher = watch(join(path, '..'), () => check());
    const timer = setTimeout(() => finish(new Error(`${path} did not appear within ${timeoutMs / 1000} s (another test process was installing)`)), timeoutMs);
    const finish = (error?: Error) => {
      watcher.close();
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const check = () => existsSync(path) && finish();
    check();
  });
}

/**
 * `npm init -y` and `npm install <tarball>` as a user would. Install scripts are skipped: better-sqlite3 would
 * otherwise compile for minutes here (its prebuilt binaries are not reachable from this machine); the same version's
 * binary is taken from the repository's own install instead.
 */
async function install(project: string, tarball: string, type: 'commonjs' | 'module'): Promise<void> {
  mkdirSync(project, { recursive: true });
  await run('npm', ['init', '-y'], { cwd: project });
  if (type === 'module') await run('npm', ['pkg', 'set', 'type=module'], { cwd: project });
  await run('npm', ['install', tarball, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project });
  const version = (dir: string) => (JSON.parse(readFileSync(join(dir, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
  if (version(project) === version(repoRoot)) {
    mkdirSync(join(project, 'node_modules/better-sqlite3/build/Release'), { recursive: true });
    copyFileSync(join(repoRoot, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), join(project, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
  } else {
    await run('npm', ['rebuild', 'better-sqlite3'], { cwd: project });
  }
}

/** The environment a user's shell would give: no npm_*, vitest or NODE_OPTIONS variables from the test runner. */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TERM']) if (process.env[key] !== undefined) env[key] = process.env[key];
  return { ...env, ...extra };
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command to its end; rejects on a non-zero exit unless `allowFailure`. */
export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; allowFailure?: boolean; timeoutMs?: number }): Promise<RunResult> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const proc = new Proc(child, `${command} ${args.join(' ')}`);
  return proc.exited(options.timeoutMs ?? 120_000).then((result) => {
    if (result.code !== 0 && !options.allowFailure) {
      throw new Error(`\`${command} ${args.join(' ')}\` in ${options.cwd} exited ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
    }
    return result;
  });
}

/** Start a long-running command (a worker); its process group is killed by `kill()` or when the test process exits. */
export function start(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Proc {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? userEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  return new Proc(child, `${command} ${args.join(' ')}`);
}

const live = new Set<number>();
process.once('exit', () => {
  for (const pid of live) killGroup(pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** A child process with its output collected; waits are event-driven (output, pipe close), with deadlines. */
export class Proc {
  stdout = '';
  stderr = '';
  private readonly waiters = new Set<() => void>();
  private readonly closed: Promise<RunResult>;

  constructor(readonly child: ChildProcess, readonly label: string) {
    live.add(child.pid!);
    child.stdout!.setEncoding('utf8').on('data', (text: string) => this.append('stdout', text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => this.append('stderr', text));
    // 'close' comes when the process has exited and every holder of its pipes (a worker below npx too) has closed them.
    this.closed = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        live.delete(child.pid!);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get output(): string {
    return `${this.stdout}${this.stderr}`;
  }

  private append(stream: 'stdout' | 'stderr', text: string): void {
    this[stream] += text;
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolve when the output matches; reject with the output so far after `timeoutMs` or when the output closes. */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.output.match(pattern);
        if (match) done(() => resolve(match));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.label}: no ${pattern} within ${timeoutMs / 1000} s. Output:\n${this.output}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      void this.closed.then(() => {
        check();
        done(() => reject(new Error(`${this.label} ended before ${pattern}. Output:\n${this.output}`)));
      });
      check();
    });
  }

  /** Resolve when the process and everything sharing its output have exited; reject after `timeoutMs`. */
  exited(timeoutMs = 60_000): Promise<RunResult> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label} still running after ${timeoutMs / 1000} s. Output:\n${this.output}`)), timeoutMs);
    });
    return Promise.race([this.closed, deadline]).finally(() => clearTimeout(timer));
  }

  /** Signal only this PID (what a supervisor does with the PID it started). */
  signal(signal: NodeJS.Signals = 'SIGTERM'): void {
    process.kill(this.pid, signal);
  }

  /** Kill the whole process group and wait for it: for cleanup. */
  async kill(): Promise<void> {
    killGroup(this.pid, 'SIGKILL');
    await this.closed;
  }
}

/** Resolve with the file's text once it matches `pattern` (watched, not polled); reject after `timeoutMs`. */
export function waitForFileText(path: string, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const read = () => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return '';
      }
    };
    const watcher = watch(join(path, '..'), () => check());
    const timer = setTimeout(() => finish(() => reject(new Error(`${path}: no ${pattern} within ${timeoutMs / 1000} s. Text:\n${read()}`))), timeoutMs);
    const finish = (settle: () => void) => {
      watcher.close();
      clearTimeout(timer);
      settle();
    };
    const check = () => {
      const text = read();
      if (pattern.test(text)) finish(() => resolve(text));
    };
    check();
  });
}

/** The fenced code blocks of one README section, in order. */
export function readmeBlocks(heading: string): string[] {
  const text = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
}
