// Every result the worker writes, in one place (Celery's backend mark_as_* with its bookkeeping): success,
// failure, retry, revoked (revoked, expired, terminated), time limit, worker lost, unknown task and undecodable
// message. Each terminal state stores its result under one retry policy, counts a chord part (a failed or revoked
// member fails the chord body with ChordError and runs the body's errbacks), marks the rest of a chain and calls
// link_error errbacks exactly where Celery 5.2 does (ResultWriter, used by the worker and by each pool child). The
// worker's side (WorkerResults) adds the log line, the task event, the signal and the ack or reject by policy.

import { shortName } from '../app/registry.js';
import type { Signals } from '../app/signals.js';
import type { ChordPart, ResultBackend } from '../backends/backend.js';
import { ChordError, ContentDisallowed, EncodeError, NotRegistered } from '../errors.js';
import { exceptionToDoc, tracebackOf, type ExceptionDoc } from '../protocol/exceptions.js';
import { pyRepr } from '../protocol/repr.js';
import { buildResultMeta, type ResultMeta } from '../protocol/result-meta.js';
import type { SignatureDict, TaskMessage } from '../protocol/task-message.js';
import { FAILURE, PROPAGATE_STATES, RETRY, REVOKED, STARTED, SUCCESS } from '../states.js';
import { destinationOf, directRequest, type Request as TaskRequest } from '../task/context.js';
import { callErrbacks, type ErrbackHost } from '../task/errbacks.js';
import { sendSignature, type ExecutedCall, type OutcomeRecorder } from '../task/execute.js';
import type { Retry } from '../errors.js';
import type { Delivery } from '../transports/transport.js';
import { backoffMs } from '../utils/backoff.js';
import { sleepLong } from '../utils/long-timer.js';
import type { Logger } from '../utils/logger.js';
import type { TaskMonitor } from './events.js';
import type { Request, RunOutcome } from './request.js';
import type { TaskPolicies } from './settings.js';

/** What writing results needs: the backend (null = none configured), sending, the registered tasks, a logger. */
export interface ResultsHost extends ErrbackHost {
  readonly hostname: string;
  readonly backend: ResultBackend | null;
}

/** Why a task is REVOKED: Celery's TaskRevokedError argument. */
export type RevokeReason = 'revoked' | 'expired' | 'terminated';

/** The fields of a request that chord and chain bookkeeping read (a task's request, or a chain step's options). */
type PartOf = Pick<TaskRequest, 'id' | 'root_id' | 'group' | 'group_index' | 'chord'>;

/** Where a result is sent besides the store (rpc://): the reply_to and correlation_id of the request it answers. */
type Destined = Pick<TaskRequest, 'reply_to' | 'correlation_id'>;

/** How long a finished task keeps trying to store its result through a backend outage. */
const STORE_RETRY_MS = 30_000;

/** Writes every result of one worker process (the worker itself, or one pool child). */
export class ResultWriter implements OutcomeRecorder {
  constructor(
    private readonly host: ResultsHost,
    private readonly policies: TaskPolicies,
    /** result_extended: store name, args, kwargs, worker, retries and queue too. */
    private readonly extended: boolean,
  ) {}

  started(call: ExecutedCall): Promise<void> | undefined {
    if (!this.host.backend || !this.policies.of(call.task).trackStarted) return undefined;
    return this.store(this.meta(call.request, STARTED, { pid: process.pid, hostname: this.host.hostname }, null, [], null), { to: call.request });
  }

  /** Throws EncodeError when the result cannot be encoded by the result serializer (the task then fails with it). */
  async succeeded(call: ExecutedCall, result: unknown, children: readonly string[]): Promise<void> {
    if (!this.policies.of(call.task).ignoreResult && !call.message.ignoreResult) {
      await this.store(this.meta(call.request, SUCCESS, result, null, children, new Date()), { rethrowEncodeError: true, to: call.request });
    }
    await this.chordPart(call.request, SUCCESS, result);
  }

  async failed(call: ExecutedCall, error: unknown, traceback: string | null, children: readonly string[]): Promise<void> {
    await this.markFailure(call.request, error, traceback, { store: this.policies.of(call.task).storeErrors, errbacks: true, children });
  }

  async retried(call: ExecutedCall, retry: Retry, traceback: string | null): Promise<void> {
    if (!this.policies.of(call.task).storeErrors) return;
    const exc = retry.info.exc;
    await this.store(this.meta(call.request, RETRY, exc === undefined ? null : exceptionToDoc(exc), traceback, [call.request.id], null), { to: call.request });
  }

  /** REVOKED (revoked, expired or terminated): stored when `store`, and counted as a chord part. No errbacks (Celery). */
  async revoked(request: TaskRequest, reason: RevokeReason, store: boolean): Promise<void> {
    const doc: ExceptionDoc = { exc_type: 'TaskRevokedError', exc_message: [reason], exc_module: 'celery.exceptions' };
    if (store) await this.store(this.meta(request, REVOKED, doc, null, [], new Date()), { to: request });
    await this.chordPart(request, REVOKED, doc);
  }

  /** The hard time limit or a lost pool child: a failure with all of its bookkeeping, as Celery's mark_as_failure. */
  async workerFailure(request: TaskRequest, error: Error, store: boolean): Promise<void> {
    await this.markFailure(request, error, null, { store, errbacks: true, children: [] });
  }

  /**
   * A task this worker does not know: FAILURE NotRegistered(name). Celery stores only that (its errbacks are not
   * called); counting its chord part and marking its chain too keeps a chord or chain from waiting forever.
   */
  async unknownTask(request: TaskRequest, message: string): Promise<void> {
    const error = new NotRegistered(message, { context: { taskId: request.id, taskName: request.task }, excArgs: [request.task] });
    await this.markFailure(request, error, null, { store: true, errbacks: false, children: [] });
  }

  /**
   * A message that could not be decoded, whose task id is known: FAILURE with the decode error, nothing else (sent to
   * `to`, the message's reply_to and correlation_id, for rpc://).
   */
  async undecodable(taskId: string, error: unknown, to?: Destined): Promise<void> {
    await this.store(buildResultMeta({ taskId, status: FAILURE, result: exceptionToDoc(error), traceback: null }), { to });
  }

  /**
   * Celery's mark_as_failure: store (when `store`), count the chord part, store the same failure for every step left
   * in the chain (so waiting on the chain's result fails at once) and count theirs, then call the errbacks.
   */
  private async markFailure(request: TaskRequest, error: unknown, traceback: string | null, o: { store: boolean; errbacks: boolean; children: readonly string[] }): Promise<void> {
    const doc = exceptionToDoc(error);
    if (o.store) await this.store(this.meta(request, FAILURE, doc, traceback, o.children, new Date()), { to: request });
    await this.chordPart(request, FAILURE, doc);
    for (const step of request.chain ?? []) {
      const options = step.options ?? {};
      const id = typeof options.task_id === 'string' ? options.task_id : null;
      const stepRequest = chainStepRequest(step, id);
      // Steps without an id of their own (a nested group or chord) are skipped, as Celery does.
      if (o.store && id) await this.store(this.meta(stepRequest, FAILURE, doc, traceback, [], new Date()), { to: stepRequest });
      if ('chord' in options) await this.chordPart(stepRequest, FAILURE, doc);
    }
    if (o.errbacks) await callErrbacks(this.host, request.errbacks, { request, error, traceback });
  }

  /**
   * As a chord header member: record this part; the part that completes the chord sends the body with every result,
   * or, when a part failed or was revoked, stores the body FAILURE with ChordError after calling its errbacks.
   */
  private async chordPart(request: PartOf, state: string, result: unknown): Promise<void> {
    const body = request.chord;
    const { backend, logger } = this.host;
    if (!body || !request.group || !backend) return;
    const group = request.group;
    const parts = await this.retrying(`chord ${group} part ${request.id}`, () => backend.addChordPart(group, { index: request.group_index ?? 0, taskId: request.id, state, result }));
    if (!parts) return;
    const failed = parts.find((p) => PROPAGATE_STATES.has(p.state));
    if (failed) return this.chordError(body, new ChordError(`Dependency ${failed.taskId} raised ${excRepr(failed.result)}`));
    const results = await this.chordResults(backend, group, parts);
    try {
      // Sent from the part that completed the chord, as Celery's callback.delay() inside that task.
      await sendSignature(this.host, request, body, [results]);
    } catch (error) {
      logger.error({ err: error }, `Chord ${request.group}: could not send the body ${body.task}: ${(error as Error).message}`);
      await this.chordError(body, new ChordError(`Callback error: ${(error as Error).message}`));
    }
  }

  /**
   * The chord body's argument: the parts' results in index order, or, when the client saved the header because a
   * member is itself a group (a chain ending in a group; Celery's Redis backend saves it then), the saved header
   * joined: such a member gives the list of its own members' results, as Celery's GroupResult.join does.
   */
  private async chordResults(backend: ResultBackend, group: string, parts: readonly ChordPart[]): Promise<unknown[]> {
    const flat = parts.map((p) => p.result);
    const saved = await backend.getGroup(group).catch(() => null);
    if (!saved?.some((m) => Array.isArray(memberTuples(m)))) return flat;
    const done = new Map(parts.map((p) => [p.taskId, p.result]));
    const value = async (member: unknown, depth: number): Promise<unknown> => {
      const nested = memberTuples(member);
      if (Array.isArray(nested) && depth < MAX_SAVED_DEPTH) return Promise.all(nested.map((m) => value(m, depth + 1)));
      const id = memberId(member);
      return done.has(id) ? done.get(id) : (await backend.get(id))?.result ?? null;
    };
    return Promise.all(saved.map((m) => value(m, 0)));
  }

  /** Celery's chord_error_from_stack: the body's errbacks get the body's id, then the body is stored FAILURE. */
  private async chordError(body: SignatureDict, error: ChordError): Promise<void> {
    const options = body.options ?? {};
    const bodyId = typeof options.task_id === 'string' ? options.task_id : null;
    this.host.logger.error(`Chord body ${body.task}${bodyId ? `[${bodyId}]` : ''} fails: ${error.message}`);
    if (!bodyId) return;
    const linkError = options.link_error as SignatureDict | SignatureDict[] | undefined;
    const errbacks = linkError === undefined ? [] : Array.isArray(linkError) ? linkError : [linkError];
    const bodyRequest = { ...directRequest(body.task, body.args ?? [], body.kwargs ?? {}, bodyId), called_directly: false, errbacks };
    const traceback = tracebackOf(error);
    await callErrbacks(this.host, errbacks, { request: bodyRequest, error, traceback });
    await this.store(buildResultMeta({ taskId: bodyId, status: FAILURE, result: exceptionToDoc(error), traceback }));
  }

  private meta(request: TaskRequest, status: string, result: unknown, traceback: string | null, children: readonly string[], dateDone: Date | null): ResultMeta {
    return buildResultMeta({
      taskId: request.id,
      status,
      result,
      traceback,
      children: children.map((id) => [[id, null], null] as [[string, null], null]),
      dateDone,
      parentId: request.parent_id,
      groupId: request.group,
      extended: this.extended
        ? { name: request.task, args: request.args, kwargs: request.kwargs, worker: request.hostname, retries: request.retries, queue: request.delivery_info?.routing_key ?? null }
        : undefined,
    });
  }

  /** Store a result document under the one retry policy; an EncodeError is logged, or rethrown when asked. */
  private async store(meta: ResultMeta, o: { rethrowEncodeError?: boolean; to?: Destined } = {}): Promise<void> {
    const { backend } = this.host;
    if (!backend) return;
    await this.retrying(`${meta.status} result of task ${meta.task_id}`, () => backend.store(meta.task_id, meta, o.to && destinationOf(o.to)), o.rethrowEncodeError);
  }

  /**
   * The one retry policy of every write: through a short backend outage, retry with backoff for up to
   * STORE_RETRY_MS (the task already ran: running it again would be worse than waiting), then log and give up
   * (undefined). A value the serializer cannot encode is never retried: logged, or rethrown when asked.
   */
  private async retrying<T>(what: string, write: () => Promise<T>, rethrowEncodeError = false): Promise<T | undefined> {
    const { logger } = this.host;
    const deadline = Date.now() + STORE_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        const written = await write();
        if (attempt > 0) logger.info(`Wrote the ${what} after ${attempt} retries`);
        return written;
      } catch (error) {
        if (EncodeError.is(error)) {
          if (rethrowEncodeError) throw error;
          logger.error(`Could not encode the ${what}: ${error.message}`);
          return undefined;
        }
        if (Date.now() >= deadline) {
          logger.error({ err: error }, `Could not write the ${what}: ${(error as Error).message}`);
          return undefined;
        }
        if (attempt === 0) logger.warn(`Writing the ${what} failed (${(error as Error).message}); retrying for up to ${STORE_RETRY_MS / 1000} s`);
        await sleepLong(backoffMs(attempt));
      }
    }
  }
}

/** A chain step as Celery rebuilds its request from the step's options (task_id, group_id, chord …). */
function chainStepRequest(step: SignatureDict, id: string | null): TaskRequest {
  const options = step.options ?? {};
  return {
    ...directRequest(step.task, step.args ?? [], step.kwargs ?? {}, id ?? ''),
    called_directly: false,
    root_id: null,
    group: typeof options.group_id === 'string' ? options.group_id : null,
    group_index: typeof options.group_index === 'number' ? options.group_index : null,
    chord: (options.chord as SignatureDict | undefined) ?? null,
    reply_to: typeof options.reply_to === 'string' ? options.reply_to : null,
  };
}

/** Python's repr of a stored exception, as Celery writes it into a ChordError: ValueError('boom'). */
function excRepr(result: unknown): string {
  const doc = result as Partial<ExceptionDoc> | null;
  if (!doc || typeof doc.exc_type !== 'string') return pyRepr(result, Infinity);
  const args = Array.isArray(doc.exc_message) ? doc.exc_message : [doc.exc_message];
  return `${doc.exc_type}(${args.map((a) => pyRepr(a, Infinity)).join(', ')})`;
}

/** What the worker's side of an outcome needs besides the writer: signals, logging and task events. */
export interface OutcomesHost {
  readonly signals: Signals;
  readonly logger: Logger;
  /** Task events; absent when the broker cannot broadcast. */
  readonly monitor?: TaskMonitor;
}

/**
 * The worker's terminal path: for each way a delivery ends, the result (through the writer), the log line, the
 * task event, the signal and the ack or reject by the request's policy, in Celery's order.
 */
export class WorkerResults {
  constructor(readonly writer: ResultWriter, private readonly o: OutcomesHost) {}

  /** A run ended. The task's own outcomes were recorded where it ran; the worker's own (limit, terminate, lost) here. */
  async finished(req: Request, context: TaskRequest, outcome: RunOutcome): Promise<void> {
    const { monitor, signals } = this.o;
    const m = req.message;
    this.log(req, outcome);
    switch (outcome.state) {
      case SUCCESS:
        monitor?.succeeded(m, outcome.result, outcome.runtimeMs);
        break;
      case FAILURE:
        monitor?.failed(m, outcome.error, outcome.traceback);
        break;
      case RETRY:
        monitor?.retried(m, outcome.retry.info.exc ?? outcome.retry.message);
        break;
      case 'TERMINATED':
        monitor?.revoked(m, { terminated: true, signum: outcome.signum, expired: false });
        await this.writer.revoked(context, 'terminated', req.policy.storeErrors);
        await req.ack();
        await signals.send('task_revoked', { name: m.task, taskId: m.id, expired: false, terminated: true });
        return;
      case 'TIME_LIMIT':
      case 'UNSENT':
      case 'LOST': {
        // A lost child requeued by reject_on_worker_lost stores nothing and sends no task-failed (Celery).
        if (outcome.state === 'LOST' && req.requeuesOnWorkerLost()) break;
        await this.writer.workerFailure(context, outcome.error, req.policy.storeErrors);
        monitor?.failed(m, outcome.error, null);
        if (signals.has('task_failure')) await signals.send('task_failure', { name: m.task, taskId: m.id, error: outcome.error, traceback: null });
        break;
      }
    }
    await req.settle(outcome);
    if (req.rejected) monitor?.rejected(m, req.rejected.requeue);
  }

  /** Revoked or expired before it ran: REVOKED stored, task-revoked sent, the message acked (Celery's _announce_revoked). */
  async revoked(req: Request, context: TaskRequest, reason: 'revoked' | 'expired'): Promise<void> {
    const m = req.message;
    const expired = reason === 'expired';
    this.o.logger.info(expired ? `Discarding expired task ${m.task}[${m.id}] (expires ${m.expires})` : `Discarding revoked task ${m.task}[${m.id}]`);
    this.o.monitor?.revoked(m, { terminated: false, signum: null, expired });
    await this.writer.revoked(context, reason, req.policy.storeErrors);
    await req.ack();
    await this.o.signals.send('task_revoked', { name: m.task, taskId: m.id, expired, terminated: false });
  }

  /** A task name this worker does not know: rejected, FAILURE NotRegistered stored, task-failed sent. */
  async unknownTask(delivery: Delivery, message: TaskMessage, context: TaskRequest, why: string): Promise<void> {
    this.o.logger.error(`Received unregistered task of type '${shortName(message.task)}' (id ${message.id}, queue ${delivery.queue}). ${why} The message is rejected.`);
    await delivery.reject({ requeue: false });
    await this.writer.unknownTask(context, why);
    this.o.monitor?.failed(message, new NotRegistered(why, { excArgs: [message.task] }), null);
    await this.o.signals.send('task_unknown', { name: message.task, taskId: message.id, queue: delivery.queue });
  }

  /**
   * A message that cannot be used (bad envelope, bad body, refused content type): one clear line, rejected without
   * requeue, and FAILURE stored when its task id is known (never for refused content: its sender is not trusted).
   */
  async undecodable(delivery: Delivery, error: Error): Promise<void> {
    const headers = delivery.message.headers ?? {};
    const id = typeof headers.id === 'string' ? headers.id : null;
    const name = typeof headers.task === 'string' ? headers.task : 'unknown';
    this.o.logger.error(`Rejected ${id ? `message for task ${name}[${id}]` : 'an unreadable message'} from queue ${delivery.queue}: ${error.message}`);
    const { reply_to: replyTo, correlation_id: correlationId } = delivery.message.properties;
    const to = { reply_to: typeof replyTo === 'string' ? replyTo : null, correlation_id: typeof correlationId === 'string' ? correlationId : null };
    if (id && !ContentDisallowed.is(error) && !delivery.decodeError) await this.writer.undecodable(id, error, to);
    await delivery.reject({ requeue: false });
    await this.o.signals.send('task_rejected', { queue: delivery.queue, reason: error.message });
  }

  private log(req: Request, outcome: RunOutcome): void {
    const { logger } = this.o;
    // Success and retry lines are INFO: at a quieter level nothing is formatted (the hot path of a busy worker).
    if ((outcome.state === SUCCESS || outcome.state === RETRY) && !logger.isLevelEnabled('info')) return;
    const label = `Task ${req.message.shadow ?? req.task.name}[${req.id}]`;
    switch (outcome.state) {
      case SUCCESS:
        logger.info(`${label} succeeded in ${seconds(outcome.runtimeMs)}s: ${pyRepr(outcome.result, 200)}`);
        break;
      case FAILURE: {
        const doc = exceptionToDoc(outcome.error);
        logger.error(`${label} raised unexpected: ${excRepr(doc)}${outcome.traceback ? `\n${outcome.traceback}` : ''}`);
        break;
      }
      case RETRY:
        logger.info(`${label} retry: ${outcome.retry.message}`);
        break;
      case 'IGNORED':
        logger.info(`${label} ignored`);
        break;
      case 'REJECTED':
        logger.info(`${label} rejected${outcome.requeue ? ' (requeued)' : ''}: ${String(outcome.reason ?? '')}`);
        break;
      case 'UNSENT':
        logger.error(`${label} failed before it ran: ${outcome.error.message}`);
        break;
      case 'TIME_LIMIT':
        logger.error(`Hard time limit (${outcome.seconds}s) exceeded for ${req.task.name}[${req.id}]`);
        break;
      case 'TERMINATED':
        logger.info(`${label} terminated (revoked, signal ${outcome.signum})`);
        break;
      case 'LOST':
        break; // the pool already said which child died and how
    }
  }
}

/** Seconds as Celery prints a runtime: up to six decimals, trailing zeros dropped. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(6).replace(/0+$/, '').replace(/\.$/, '.0');
}

/** How deep a saved header's nested groups are followed (a canvas nests far less; a hostile row may not). */
const MAX_SAVED_DEPTH = 32;

/** The member tuples of a saved group member that is itself a group (`[[id, parent], [members]]`), else undefined. */
function memberTuples(member: unknown): unknown[] | undefined {
  return Array.isArray(member) && Array.isArray(member[1]) ? member[1] : undefined;
}

/** The task id of a saved member: a result tuple `[[id, parent], …]`, or a bare id. */
function memberId(member: unknown): string {
  return String(Array.isArray(member) && Array.isArray(member[0]) ? member[0][0] : member);
}
