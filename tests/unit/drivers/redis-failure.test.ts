// What a user reads when a Redis command fails: what happened in celeriac's words (never the driver's option
// names), the redacted URL, and what to do.

import { describe, expect, it } from 'vitest';
import { redisFailure } from '../../../src/drivers/redis.js';
import { OperationalError } from '../../../src/errors.js';

describe('redisFailure', () => {
  it('says a Redis that was never reached is unreachable, without ioredis\'s option text', () => {
    const driver = Object.assign(new Error('Reached the max retries per request limit (which is 20). Refer to "maxRetriesPerRequest" option for details.'), { name: 'MaxRetriesPerRequestError' });
    const error = redisFailure(driver, 'redis://:**@127.0.0.1:6399/0', 'reading the size of queue celery');
    expect(error).toBeInstanceOf(OperationalError);
    expect(error.message).toContain('Redis at redis://:**@127.0.0.1:6399/0 failed while reading the size of queue celery: no connection could be made (20 attempts).');
    expect(error.message).toMatch(/Redis is unreachable: check that redis-server is running/);
    expect(error.message).not.toMatch(/maxRetriesPerRequest/);
  });
});
