// Canvas received from the wire: a signature dict (a chain step, callback, errback, chord body, or a builtin's
// argument) becomes the canvas node its subtask_type names, bounded in depth and size, and is applied as Celery's
// worker applies it. The worker's execute path calls applySignatureDict; nothing here runs task code.

import type { ApplyOptions } from '../task/options.js';
import { InvalidCanvas } from '../errors.js';
import type { SignatureDict } from '../protocol/task-message.js';
import type { ResultHandle } from '../result/async-result.js';
import { Chain } from './chain.js';
import { Chord } from './chord.js';
import { Chunks, XMap, XStarmap } from './chunks.js';
import { Group } from './group.js';
import { MAX_WIRE_DEPTH, toWireOptions } from './options.js';
import { Signature, type AnySignature, type CanvasApp } from './signature.js';
import { checkRunnable, MAX_CANVAS_NODES } from './validate.js';

interface Parse {
  readonly app: CanvasApp;
  nodes: number;
}

/**
 * The canvas node a signature dict describes (Celery's signature()/from_dict): by subtask_type chain, group,
 * chord, chunks, xmap, xstarmap, else a task signature (also for Celery 5.2's chunks/map dicts, whose
 * subtask_type is null: they run as the celery.chunks/map builtins). Throws InvalidCanvas naming the bad part.
 */
export function signatureFromDict(dict: unknown, app: CanvasApp): AnySignature {
  return parse(dict, 'signature', 0, { app, nodes: 0 });
}

/**
 * Apply a signature dict received from the wire as Celery's worker does (`signature(d).apply_async(args, …)`):
 * `args` are prepended unless it is immutable, `options` (parentId, rootId, chain, …) win over its own.
 * A composite (chain, group, chord, …) is applied as one. Resolves with its result handle.
 */
export async function applySignatureDict(app: CanvasApp, dict: SignatureDict, call: { args?: unknown[]; kwargs?: Record<string, unknown>; options?: ApplyOptions } = {}): Promise<ResultHandle> {
  const sig = signatureFromDict(dict, app);
  await checkRunnable(sig, app);
  return sig.applyWire(call.args ?? [], call.kwargs ?? {}, toWireOptions(call.options ?? {}), app);
}

function parse(value: unknown, where: string, depth: number, p: Parse): AnySignature {
  if (value instanceof Signature) return value;
  if (depth > MAX_WIRE_DEPTH) throw new InvalidCanvas(`Signature ${where} nests deeper than ${MAX_WIRE_DEPTH} levels; a real canvas never does. The message is refused.`);
  if (++p.nodes > MAX_CANVAS_NODES) throw new InvalidCanvas(`The canvas has more than ${MAX_CANVAS_NODES} signatures (at ${where}); it is refused. Split it, or use chunks().`);
  const d = record(value, where);
  const task = d.task;
  if (typeof task !== 'string' || task === '') throw new InvalidCanvas(`Signature ${where} names no task (task is ${JSON.stringify(task) ?? 'undefined'}). Send a dict with a task name.`);
  const args = list(d.args ?? [], `${where}.args`);
  const kwargs = d.kwargs === undefined || d.kwargs === null ? {} : record(d.kwargs, `${where}.kwargs`);
  const options = d.options === undefined || d.options === null ? {} : { ...record(d.options, `${where}.options`) };
  const kind = d.subtask_type ?? null;
  const sub = (v: unknown, label: string) => parse(v, `${where} → ${label}`, depth + 1, p);
  switch (kind) {
    case null:
      return new Signature(task, args, kwargs, options, d.immutable === true, p.app, null);
    case 'chain':
      return new Chain(list(kwargs.tasks, `${where}.kwargs.tasks`).map((t, i) => sub(t, `chain step ${i}`)), options, p.app);
    case 'group':
      return withArgs(new Group(list(kwargs.tasks, `${where}.kwargs.tasks`).map((t, i) => sub(t, `group member ${i}`)), options, p.app), args);
    case 'chord': {
      const { header, body, kwargs: extra, ...rest } = kwargs;
      const members = Array.isArray(header) ? header.map((t, i) => sub(t, `header member ${i}`)) : headerOf(sub(header, 'header'));
      const chord = new Chord(members, body === null || body === undefined ? null : sub(body, 'body'), options, p.app, { ...(extra as object | undefined), ...rest });
      return withArgs(chord, args);
    }
    case 'chunks':
      return new Chunks(sub(kwargs.task, 'chunked task'), list(kwargs.it, `${where}.kwargs.it`), kwargs.n as number, options, p.app);
    case 'xmap':
      return new XMap(sub(kwargs.task, 'mapped task'), list(kwargs.it, `${where}.kwargs.it`), options, p.app);
    case 'xstarmap':
      return new XStarmap(sub(kwargs.task, 'mapped task'), list(kwargs.it, `${where}.kwargs.it`), options, p.app);
    default:
      throw new InvalidCanvas(`Signature ${where} has subtask_type ${JSON.stringify(kind)}, which is none of chain, group, chord, chunks, xmap, xstarmap. Send one of those, or null for a task.`);
  }
}

/** A chord header given as one signature: a group (kept whole: its id is the chord's group id), else that signature alone. */
function headerOf(sig: AnySignature): AnySignature[] | Group {
  return sig instanceof Group ? sig : [sig];
}

function withArgs<S extends AnySignature>(sig: S, args: unknown[]): S {
  sig.args = args;
  return sig;
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidCanvas(`Signature ${where} is ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}, not a dict. Send Celery's signature dict {task, args, kwargs, options, subtask_type, immutable}.`);
  }
  return value as Record<string, unknown>;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new InvalidCanvas(`${where} is ${value === null ? 'null' : typeof value}, not a list, in a signature dict. Send a list there.`);
  return value;
}
