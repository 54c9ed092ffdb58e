// Issue 19 item 3c: did-you-mean for unknown task names is bounded; a huge name costs no search and no huge line.

import { describe, expect, it } from 'vitest';
import { notRegistered, suggest, SUGGEST_MAX_NAME } from '../../../src/app/registry.js';

const known = Array.from({ length: 2000 }, (_, i) => `proj.tasks.task_${i}`).concat(['proj.tasks.add']);

describe('did-you-mean for unknown task names', () => {
  it('still suggests near typos', () => {
    expect(suggest('proj.tasks.ad', known)).toContain('proj.tasks.add');
    expect(notRegistered('proj.taks.add', known).message).toMatch(/did you mean 'proj\.tasks\.add'/);
  });

  it('skips the search for names longer than SUGGEST_MAX_NAME characters', () => {
    expect(suggest('a'.repeat(SUGGEST_MAX_NAME + 1), ['a'.repeat(SUGGEST_MAX_NAME)])).toEqual([]);
  });

  it('a 2 MB name: no suggestion, and the message shows 200 characters and the real length', () => {
    const name = 'x'.repeat(2 * 1024 * 1024);
    const error = notRegistered(name, [...known, 'x'.repeat(2 * 1024 * 1024 - 1)]);
    expect(error.message.length).toBeLessThan(500);
    expect(error.message).toMatch(/^Task 'x{200}… \(2097152 characters\)' is not registered\. Check the name/);
  });
});
