// The check every canvas passes before anything of it is sent: each member names a task, nothing contains itself,
// chords have a result backend to count on, groups carry no link, each node's own shape is sound (problem()).

import { ImproperlyConfigured, InvalidCanvas } from '../errors.js';

/** What the check reads of a canvas node (a Signature, or a signature dict from the wire). */
interface CanvasNode {
  task?: unknown;
  subtaskType?: string | null;
  subtask_type?: string | null;
  options?: Record<string, unknown>;
  /** The nodes inside a composite, each with a label. */
  members?(): Array<[string, unknown]>;
  /** What is wrong with the node's own shape, or null. */
  problem?(): string | null;
}

/** What the check reads of the app: whether chords can be counted. */
interface CanvasSettings {
  backendUrl(): string | null;
  readonly conf: { get(name: string): unknown };
  getBackend(): Promise<{ readonly displayUrl: string; readonly capabilities: { readonly nativeChords: boolean } }>;
}

/** How many nodes (signatures, links included) one canvas may have: a bound on what a send can expand to. */
export const MAX_CANVAS_NODES = 100_000;

interface Walk {
  readonly app: CanvasSettings;
  readonly path: Set<object>;
  nodes: number;
  /** Where the first chord is, if any. */
  chord?: string;
}

/**
 * Throw InvalidCanvas naming the first member of `root` that cannot run, and what to do about it (for a chord
 * the configuration cannot run, ImproperlyConfigured). Checked:
 * a task name on every member (links and chord bodies included), no member containing itself, a result backend
 * for chords (unless task_always_eager runs them here) that can count their parts (not rpc://, as in Celery),
 * no link on a group, each node's own problem() (e.g. a chunk size), at most MAX_CANVAS_NODES nodes.
 */
export async function checkRunnable(root: CanvasNode, app: CanvasSettings): Promise<void> {
  const walk: Walk = { app, path: new Set(), nodes: 0 };
  visit(root, describe(root), walk);
  if (!walk.chord || app.conf.get('task_always_eager')) return;
  const backend = await app.getBackend();
  if (!backend.capabilities.nativeChords) {
    throw new ImproperlyConfigured(`The result backend ${backend.displayUrl} does not support chords, and canvas member ${walk.chord} is a chord: no worker could count its header's results (Celery's rpc:// cannot either). Nothing was sent. Use a backend that stores results (redis://, db+sqlite://, …) for canvases with chords.`);
  }
}

function visit(node: unknown, where: string, walk: Walk): void {
  if (node === null || typeof node !== 'object') {
    throw new InvalidCanvas(`Canvas member ${where} is ${node === null ? 'null' : typeof node}, not a signature. Pass task.s(...), a chain, group or chord.`);
  }
  if (walk.path.has(node)) {
    throw new InvalidCanvas(`Canvas member ${where} contains itself (a cycle through its members or links): it could never finish. Build each step as a new signature (task.s(...) or sig.clone()).`);
  }
  if (++walk.nodes > MAX_CANVAS_NODES) {
    throw new InvalidCanvas(`The canvas has more than ${MAX_CANVAS_NODES} members (at ${where}). Split the work into several canvases, or use chunks().`);
  }
  walk.path.add(node);
  const sig = node as CanvasNode;
  if (typeof sig.task !== 'string' || sig.task.trim() === '') {
    throw new InvalidCanvas(`Canvas member ${where} names no task (task is ${JSON.stringify(sig.task) ?? 'undefined'}). Give it a registered task name, e.g. build it with task.s(...).`);
  }
  const kind = kindOf(sig);
  if (kind === 'chord') chordAt(where, walk);
  if (kind === 'chain' && typeof sig.members === 'function') {
    // Celery turns a group followed by another step into a chord (its body is that step).
    const steps = sig.members();
    steps.slice(0, -1).forEach(([label, step]) => {
      if (kindOf(step as CanvasNode) === 'group') chordAt(`${where} → ${label} (a group followed by a step: a chord)`, walk);
    });
  }
  const options = sig.options ?? {};
  if (kind === 'group' && options.link !== undefined && options.link !== null) {
    throw new InvalidCanvas(`Canvas member ${where} is a group with a link: a group has no single result to pass on. Use a chord (group → body) instead.`);
  }
  const problem = typeof sig.problem === 'function' ? sig.problem() : null;
  if (problem) throw new InvalidCanvas(`Canvas member ${where} ${problem}`);
  if (typeof sig.members === 'function') for (const [label, member] of sig.members()) visit(member, `${where} → ${label}`, walk);
  for (const key of ['link', 'link_error'] as const) {
    const linked = options[key];
    const list = Array.isArray(linked) ? linked : linked === undefined || linked === null ? [] : [linked];
    list.forEach((l, i) => visit(l, `${where} → ${key}[${i}]`, walk));
  }
  if (options.chord !== undefined && options.chord !== null) visit(options.chord, `${where} → chord body`, walk);
  walk.path.delete(node);
}

function kindOf(node: CanvasNode | null): string | null {
  return node?.subtaskType ?? node?.subtask_type ?? null;
}

/** A chord runs only with a result backend to count its header: checked here, and its capability after the walk. */
function chordAt(where: string, walk: Walk): void {
  walk.chord ??= where;
  if (!walk.app.backendUrl() && !walk.app.conf.get('task_always_eager')) {
    throw new ImproperlyConfigured(`Canvas member ${where} is a chord, but no result backend is configured: a chord's body runs only once its header's results are counted there. Nothing was sent. Set result_backend (e.g. redis://…) or use a chain/group instead.`);
  }
}

function describe(node: unknown): string {
  const sig = node as { subtaskType?: string | null; task?: unknown } | null;
  return sig?.subtaskType ? sig.subtaskType : typeof sig?.task === 'string' ? `'${sig.task}'` : 'signature';
}
