// Errors a user can see are CeleryErrors with a stable code and a message that says what to do (ARCHITECTURE §5).

import { describe, expect, it } from 'vitest';
import { Celery, chain, CeleryError, ImproperlyConfigured, InvalidCanvas, Signature, UsageError } from '../../src/index.js';
import { AsyncResult } from '../../src/result/async-result.js';
import { toLogLevel } from '../../src/utils/logger.js';
import { parseAutoscale } from '../../src/worker/pool/autoscale.js';
import { parseRateLimit } from '../../src/worker/rate-limit.js';

const app = new Celery('errors', { broker: 'memory://user-errors', backend: 'memory://user-errors' });
const add = app.task((a: number, b: number) => a + b, { name: 'errors.add' });

const cases: Array<[string, () => unknown, typeof CeleryError, string, RegExp]> = [
  ['a signature bound to no app', () => new Signature('t').applyAsync(), UsageError, 'USAGE_ERROR', /create it with app\.signature\(\) or task\.s\(\)/],
  ['signatures bound to no app in a chain', () => chain(new Signature('t')).applyAsync(), UsageError, 'USAGE_ERROR', /create it with app\.signature\(\) or task\.s\(\)/],
  ['an empty chain, sent', () => chain().applyAsync(), InvalidCanvas, 'INVALID_CANVAS', /give chain\(\) at least one signature/],
  ['replace outside a worker', () => add.replace(add.s(1, 1)), UsageError, 'USAGE_ERROR', /only replace itself while a worker runs it/],
  ['updateState outside a task', () => add.updateState('PROGRESS'), UsageError, 'USAGE_ERROR', /pass taskId/],
  ['revoke on a result bound to no app', () => new AsyncResult('id', { getBackend: () => app.getBackend() }).revoke(), UsageError, 'USAGE_ERROR', /app\.control\.revoke/],
  ['a bad rate limit', () => parseRateLimit('fast'), ImproperlyConfigured, 'IMPROPERLY_CONFIGURED', /e\.g\. '10\/m'/],
  ['a bad --autoscale', () => parseAutoscale('x'), ImproperlyConfigured, 'IMPROPERLY_CONFIGURED', /max,min/],
  ['an unknown log level', () => toLogLevel('LOUD'), ImproperlyConfigured, 'IMPROPERLY_CONFIGURED', /Use DEBUG, INFO/],
];

describe('errors a user can see', () => {
  it.each(cases)('%s: a CeleryError with a code and a what-to-do', async (_what, call, cls, code, advice) => {
    const error = await Promise.resolve().then(call).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(cls);
    expect(error).toBeInstanceOf(CeleryError);
    expect((error as CeleryError).code).toBe(code);
    expect((error as Error).message).toMatch(advice);
  });
});
