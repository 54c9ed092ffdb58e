// Issue 19 items 3a and 7: what parseTaskMessage refuses, and in which order. The content type is checked before
// a compressed body is expanded; expansion stops at a bound; ids must be strings; text must be valid UTF-8.

import { describe, expect, it } from 'vitest';
import { ContentDisallowed, DecodeError } from '../../../src/errors.js';
import { compress } from '../../../src/protocol/compression.js';
import { acceptSet } from '../../../src/protocol/serializers.js';
import { parseTaskMessage } from '../../../src/protocol/task-message.js';
import { brotliBomb, invalidUtf8Body, zlibBomb } from '../../fixtures/hostile/index.js';

const json = acceptSet(['json']);
const message = (body: Uint8Array, headers: Record<string, unknown>, contentType = 'application/json') =>
  ({ body, contentType, headers: { task: 't', id: 'id-1', ...headers }, properties: {} });
const thrown = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
};

describe('compressed bodies', () => {
  it.each([
    ['zlib', zlibBomb, 'application/x-gzip'],
    ['brotli', brotliBomb, 'application/x-brotli'],
  ])('a 1 GiB %s bomb is refused after at most the bound is produced', (_name, bomb, header) => {
    const error = thrown(() => parseTaskMessage(message(bomb(), { compression: header }), json, 'queue celery', 1024 * 1024));
    expect(error).toBeInstanceOf(DecodeError);
    expect(error.message).toMatch(/expands past 1048576 bytes.*worker_max_decompressed_size/);
  });

  it('checks accept_content before decompressing (a refused type is never expanded)', () => {
    const error = thrown(() => parseTaskMessage(message(zlibBomb(), { compression: 'application/x-gzip' }, 'application/x-python-serialize'), json, 'queue celery', 1));
    expect(error).toBeInstanceOf(ContentDisallowed);
  });

  it('reads a compressed body within the bound', () => {
    const { body, header } = compress(Buffer.from('[[1, 2], {}, {}]'), 'brotli');
    expect(parseTaskMessage(message(body, { compression: header }), json).args).toEqual([1, 2]);
  });

  it('names corrupt data', () => {
    expect(thrown(() => parseTaskMessage(message(Buffer.from('not zlib'), { compression: 'zlib' }), json)).message).toMatch(/Corrupt zlib body: incorrect header check/);
  });
});

describe('bad values', () => {
  it.each([[{ a: 1 }], [42], [null], ['']])('a task id %j is refused, never turned into text', (id) => {
    const error = thrown(() => parseTaskMessage(message(Buffer.from('[[], {}, {}]'), { id }), json, 'queue celery'));
    expect(error).toBeInstanceOf(DecodeError);
    expect(error.message).toMatch(/Task id \(queue celery\) must be a non-empty string/);
  });

  it('invalid UTF-8 in a JSON body is refused, not replaced with U+FFFD', () => {
    const error = thrown(() => parseTaskMessage(message(invalidUtf8Body(), {}), json, 'queue celery'));
    expect(error).toBeInstanceOf(DecodeError);
    expect(error.message).toMatch(/Malformed json body \(task id-1, queue celery\): the body is not valid UTF-8/);
  });
});
