// worker_redirect_stdouts: each write becomes one log record (Celery's LoggingProxy), trailing newlines dropped,
// blank writes skipped; the streams are restored afterwards.

import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { redirectStdouts } from '../../../src/utils/redirect-stdouts.js';
import type { Logger } from '../../../src/utils/logger.js';

describe('redirectStdouts', () => {
  it('one record per write, multi-line text kept whole, at the level asked for', () => {
    const records: Array<[string, string]> = [];
    const logger = { warn: (m: string) => records.push(['warn', m]), info: (m: string) => records.push(['info', m]) } as unknown as Logger;
    const write = process.stdout.write;
    const restore = redirectStdouts(logger, 'WARNING');
    try {
      // What console.log of an object writes (vitest captures console itself, so write it as console would).
      process.stdout.write(`${inspect({ a: 1, b: 'two', c: [1, 2, 3], nested: { deeper: { deepest: 'x'.repeat(60) } } })}\n`);
      process.stderr.write('line one\nline two\n\n');
      process.stdout.write('\n');
    } finally {
      restore();
    }
    expect(process.stdout.write).toBe(write);
    expect(records).toHaveLength(2);
    expect(records[0]![0]).toBe('warn');
    expect(records[0]![1]).toMatch(/^\{\n {2}a: 1,[\s\S]*deepest: 'x+'[\s\S]*\}$/);
    expect(records[1]).toEqual(['warn', 'line one\nline two']);
  });
});
