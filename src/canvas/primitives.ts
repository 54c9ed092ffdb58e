// chain, group and chord: how Celery 5 puts them on the wire (REDIS-WIRE.md §7), so Python workers run
// celeriac's workflows and the reverse. The worker side (next step, chord counting) lives in task/execute.ts.

import type { ResultBackend } from '../backends/backend.js';
import { UsageError } from '../errors.js';
import type { ApplyOptions } from '../task/options.js';
import { AsyncResult } from '../result/async-result.js';
import { GroupResult } from '../result/group-result.js';
import { uuid } from '../utils/ids.js';
import { Signature, type SignatureSender } from './signature.js';

/** What the canvas needs from the app: sending and, for chords, the backend that counts. */
export interface CanvasHost extends SignatureSender {
  getBackend(): Promise<ResultBackend>;
}

function hostOf(sigs: readonly Signature[], app?: CanvasHost): CanvasHost {
  const found = app ?? (sigs.find((s) => s.app)?.app as CanvasHost | undefined);
  if (!found) throw new UsageError('These signatures are not bound to an app: build them with task.s() or app.signature(), or pass the app.');
  return found;
}

/** Run signatures one after another, each receiving the previous result (unless immutable). */
export class Chain<R = unknown> {
  constructor(readonly tasks: readonly Signature[], private readonly app?: CanvasHost) {
    if (tasks.length === 0) throw new UsageError('chain() needs at least one signature.');
  }

  /** Sends ONE message: the first task, carrying the rest reversed in embed.chain with pre-allocated ids. */
  async applyAsync(args: unknown[] = [], options: ApplyOptions = {}): Promise<AsyncResult<R>> {
    const host = hostOf(this.tasks, this.app);
    const steps = this.tasks.map((s) => (typeof s.options.task_id === 'string' ? s : s.set({ task_id: uuid() })));
    const [first, ...rest] = steps;
    const last = steps[steps.length - 1]!;
    await first!.applyAsync(args, {}, { ...options, chain: rest.reverse().map((s) => s.toDict()) });
    return new AsyncResult<R>(String(last.options.task_id), host, last.task);
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }
}

/** Run signatures in parallel as members of one group. */
export class Group<R = unknown> {
  constructor(readonly tasks: readonly Signature[], private readonly app?: CanvasHost) {}

  async applyAsync(args: unknown[] = [], options: ApplyOptions = {}): Promise<GroupResult<R>> {
    const host = hostOf(this.tasks, this.app);
    const groupId = options.groupId ?? uuid();
    // Plain group members carry group_index null, as Celery 5.2 sends them (REDIS-WIRE.md §3.1).
    const results = await Promise.all(this.tasks.map((s) => s.applyAsync(args, {}, { ...options, groupId, groupIndex: null }) as Promise<AsyncResult<R>>));
    return new GroupResult<R>(groupId, results, host);
  }

  delay(...args: unknown[]): Promise<GroupResult<R>> {
    return this.applyAsync(args);
  }
}

/** A group whose results, once all succeed, are passed as a list to the body. */
export class Chord<R = unknown> {
  constructor(readonly header: readonly Signature[], readonly body: Signature<R>, private readonly app?: CanvasHost) {
    if (header.length === 0) throw new UsageError('chord() needs at least one header task; call the body directly instead.');
  }

  /** Records the header size, then sends the header tasks with group_index and the body in embed.chord. */
  async applyAsync(args: unknown[] = [], options: ApplyOptions = {}): Promise<AsyncResult<R>> {
    const host = hostOf([...this.header, this.body], this.app);
    const groupId = options.groupId ?? uuid();
    const body = typeof this.body.options.task_id === 'string' ? this.body : this.body.set({ task_id: uuid() });
    await (await host.getBackend()).setChordSize(groupId, this.header.length);
    const chord = body.toDict();
    await Promise.all(this.header.map((s, i) => s.applyAsync(args, {}, { ...options, groupId, groupIndex: i, chord })));
    return new AsyncResult<R>(String(body.options.task_id), host, body.task);
  }
}

/** chain(a, b, c): each step's result is passed to the next (Celery's chain). Throws UsageError when empty. */
export const chain = <R = unknown>(...tasks: Signature[]): Chain<R> => new Chain<R>(tasks);
/** group(a, b, …): run in parallel, results as one GroupResult (Celery's group); arrays are flattened. */
export const group = <R = unknown>(...tasks: Array<Signature | Signature[]>): Group<R> => new Group<R>(tasks.flat());
/** chord(header, body): run the header as a group, then the body with the list of their results (Celery's chord). */
export const chord = <R = unknown>(header: Signature[], body: Signature<R>): Chord<R> => new Chord<R>(header, body);
