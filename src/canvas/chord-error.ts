// A chord whose body cannot run: the body's result becomes FAILURE with Celery's ChordError and the body's
// errbacks are applied with its id (Celery's chord_error_from_stack), so whoever waits on the chord is released.

import { buildResultMeta } from '../protocol/result-meta.js';
import type { SignatureDict } from '../protocol/task-message.js';
import { FAILURE } from '../states.js';
import { asList } from './options.js';
import type { CanvasApp } from './signature.js';
import { applySignatureDict } from './wire.js';

/**
 * Store FAILURE (ChordError: `reason`) as the body's result and apply each of the body's link_error signatures
 * with the body id prepended. An errback that cannot be sent does not stop the others; the first such error is
 * rethrown after the result is stored.
 */
export async function failChordBody(app: CanvasApp, body: SignatureDict, reason: string): Promise<void> {
  const bodyId = typeof body.options?.task_id === 'string' ? body.options.task_id : null;
  let sendError: unknown;
  if (bodyId) {
    for (const errback of asList(body.options?.link_error as SignatureDict | SignatureDict[] | undefined)) {
      try {
        await applySignatureDict(app, errback, { args: [bodyId], options: { parentId: bodyId } });
      } catch (error) {
        sendError ??= error;
      }
    }
    await (await app.getBackend()).store(bodyId, buildResultMeta({
      taskId: bodyId, status: FAILURE, traceback: null, dateDone: new Date(),
      result: { exc_type: 'ChordError', exc_message: [reason], exc_module: 'celery.exceptions' },
    }));
  }
  if (sendError) throw sendError;
}
