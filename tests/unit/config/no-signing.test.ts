// Issue 19 item 5 (until signing is built): asking for Celery's auth serializer fails at once, naming why.

import { describe, expect, it } from 'vitest';
import { ImproperlyConfigured } from '../../../src/errors.js';
import { Celery } from '../../../src/index.js';

describe("the 'auth' serializer (message signing)", () => {
  it.each([
    [{ task_serializer: 'auth' }],
    [{ result_serializer: 'auth' }],
    [{ accept_content: ['json', 'auth'] }],
  ])('%j is refused when the app is made, with ImproperlyConfigured', (conf) => {
    expect(() => new Celery('signing', conf as never)).toThrow(ImproperlyConfigured);
    expect(() => new Celery('signing', conf as never)).toThrow(/Message signing \(Celery's auth serializer.*\) is not supported by celeriac yet/);
  });

  it('is refused when set later too', () => {
    const app = new Celery('signing');
    expect(() => {
      app.conf.task_serializer = 'auth';
    }).toThrow(ImproperlyConfigured);
  });
});
