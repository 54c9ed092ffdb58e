// Where beat keeps each entry's last run: in the broker's coordination registers when it has them (several beats
// share them, elect a leader and claim each run with a compare-and-set), else in a schedule file (one beat).
// Each claim is recorded before the task is sent, so a restart neither sends a run again nor skips one.

import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { lock } from 'proper-lockfile';
import type { Coordination } from '../transports/transport.js';

/** An entry's run record (Celery's ScheduleEntry.last_run_at and total_run_count). */
export interface EntryState {
  /** Epoch ms of the last run sent (or of when the entry was first seen). */
  readonly lastRunAt: number;
  readonly totalRunCount: number;
}

/** A state as stored, with the token a claim must present to replace it. */
export interface StoredState {
  readonly state: EntryState;
  readonly token: string;
}

/** A place to keep entry states, and to elect the one beat that sends. */
export interface BeatStateStore {
  /** For logs and the banner: where the state lives. */
  readonly description: string;
  /** Whether several beats can share it (they then elect a leader through it). */
  readonly shared: boolean;
  read(name: string): Promise<StoredState | null>;
  /**
   * Replace the state whose token is `expected` (null: none stored yet) by `next`, atomically. Returns the new
   * StoredState, or null when another beat changed it first (the run is then that beat's).
   */
  claim(name: string, expected: string | null, next: EntryState): Promise<StoredState | null>;
  /** Take or renew leadership for `holder` for `ttlMs`; true while `holder` leads. */
  lead(holder: string, ttlMs: number): Promise<boolean>;
  /** Give leadership up now, so a standby need not wait for the lease to run out. */
  resign(holder: string): Promise<void>;
  close(): Promise<void>;
}

function encode(state: EntryState): string {
  return JSON.stringify({ last_run_at: state.lastRunAt, total_run_count: state.totalRunCount });
}

/** A stored record, or null when it is not one of ours (it is then replaced at the next claim). */
function decode(raw: unknown): EntryState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { last_run_at: last, total_run_count: count } = raw as Record<string, unknown>;
  if (typeof last !== 'number' || !Number.isFinite(last) || typeof count !== 'number' || !Number.isInteger(count) || count < 0) return null;
  return { lastRunAt: last, totalRunCount: count };
}

function parse(raw: string): EntryState | null {
  try {
    return decode(JSON.parse(raw));
  } catch {
    return null;
  }
}

/**
 * Entry states in coordination registers (the broker's, or the result backend's): `<namespace>.entry.<name>` per
 * entry and the lease `<namespace>.leader`. The namespace is the app's main name, so apps sharing a broker keep
 * apart.
 */
export class CoordinationStateStore implements BeatStateStore {
  readonly shared = true;
  readonly description: string;

  constructor(private readonly coordination: Coordination, private readonly namespace: string) {
    this.description = `${coordination.where} (shared: the beats using it elect one leader there)`;
  }

  async read(name: string): Promise<StoredState | null> {
    const raw = await this.coordination.get(this.entryKey(name));
    if (raw === null) return null;
    // A record we cannot read still has a token, so the next claim replaces it.
    return { state: parse(raw) ?? { lastRunAt: 0, totalRunCount: 0 }, token: raw };
  }

  async claim(name: string, expected: string | null, next: EntryState): Promise<StoredState | null> {
    const token = encode(next);
    return (await this.coordination.compareAndSet(this.entryKey(name), expected, token)) ? { state: next, token } : null;
  }

  lead(holder: string, ttlMs: number): Promise<boolean> {
    return this.coordination.lease(`${this.namespace}.leader`, holder, ttlMs);
  }

  resign(holder: string): Promise<void> {
    return this.coordination.release(`${this.namespace}.leader`, holder);
  }

  async close(): Promise<void> {}

  private entryKey(name: string): string {
    return `${this.namespace}.entry.${name}`;
  }
}

/** Larger schedule files are not ours: refuse to parse them. */
const MAX_FILE_BYTES = 16 << 20;
const FORMAT = 'celeriac-beat-schedule';

/**
 * Entry states in a JSON file (Celery's schedule file, `-s` / beat_schedule_filename), written atomically (temp
 * file + rename) on every claim, or every `syncEvery` claims. Beats sharing the file elect their leader through
 * the lock file `<file>.lock` (proper-lockfile: a lock left by a killed beat goes stale after the lease), and the
 * new leader re-reads the file. A file that cannot be read is moved aside to `<file>.corrupt` and a new one
 * started; `onProblem` reports it.
 */
export class FileStateStore implements BeatStateStore {
  readonly shared = true;
  readonly description: string;
  private readonly entries = new Map<string, string>();
  private unsynced = 0;
  private unlock?: () => Promise<void>;

  constructor(private readonly path: string, private readonly syncEvery: number, private readonly onProblem: (message: string) => void) {
    this.description = `${path} (schedule file; beats sharing it elect a leader through ${path}.lock)`;
    this.open();
  }

  /** Read the file, moving a bad one aside. */
  private open(): void {
    this.entries.clear();
    const problem = this.load();
    if (problem) {
      this.entries.clear();
      const aside = `${this.path}.corrupt`;
      renameSync(this.path, aside);
      this.onProblem(`The schedule file ${this.path} could not be read (${problem}); it was moved to ${aside} and a new one started: entries run as if new.`);
    }
  }

  async read(name: string): Promise<StoredState | null> {
    const token = this.entries.get(name);
    return token === undefined ? null : { state: parse(token)!, token };
  }

  async claim(name: string, expected: string | null, next: EntryState): Promise<StoredState | null> {
    if ((this.entries.get(name) ?? null) !== expected) return null;
    const token = encode(next);
    this.entries.set(name, token);
    if (++this.unsynced >= Math.max(1, this.syncEvery)) this.sync();
    return { state: next, token };
  }

  async lead(_holder: string, ttlMs: number): Promise<boolean> {
    if (this.unlock) return true;
    try {
      this.unlock = await lock(this.path, {
        realpath: false,
        stale: Math.max(2_000, Math.round(ttlMs)),
        onCompromised: () => (this.unlock = undefined),
      });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ELOCKED') return false;
      throw error;
    }
    // The previous leader may have written runs since this beat read the file.
    this.open();
    return true;
  }

  async resign(): Promise<void> {
    const unlock = this.unlock;
    this.unlock = undefined;
    await unlock?.().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.unsynced) this.sync();
    await this.resign();
  }

  /** Write the file now (atomically). */
  sync(): void {
    const entries: Record<string, unknown> = {};
    for (const [name, token] of this.entries) entries[name] = JSON.parse(token);
    const temp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(temp, `${JSON.stringify({ format: FORMAT, version: 1, entries }, null, 1)}\n`);
    renameSync(temp, this.path);
    this.unsynced = 0;
  }

  /** Read the file into memory; returns what is wrong with it, or undefined when it is fine or absent. */
  private load(): string | undefined {
    if (!existsSync(this.path)) return undefined;
    const size = statSync(this.path).size;
    if (size > MAX_FILE_BYTES) return `${size} bytes, more than a schedule file holds`;
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (error) {
      return `not JSON: ${(error as Error).message}`;
    }
    const { format, entries } = (doc ?? {}) as { format?: unknown; entries?: unknown };
    if (format !== FORMAT || typeof entries !== 'object' || entries === null) return 'not a celeriac schedule file';
    for (const [name, value] of Object.entries(entries)) {
      const state = decode(value);
      if (!state) return `entry '${name}' has no valid last_run_at/total_run_count`;
      this.entries.set(name, encode(state));
    }
    return undefined;
  }
}
