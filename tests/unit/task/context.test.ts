// The current execution (currentExecution, what currentTask and subtask parent ids read) in every shape of task
// function: plain, async, a plain function returning a promise, and nested calls of one shape inside another.

import { describe, expect, it } from 'vitest';
import { currentExecution, directRequest, runInContext, type Execution } from '../../../src/task/context.js';

const execution = (id: string): Execution => ({ request: directRequest('t', [], {}, id), taskName: 't', children: [] });
const currentId = () => currentExecution()?.request.id;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runInContext', () => {
  it('shows a plain function its execution on every call, and nothing after', () => {
    const fn = () => currentId();
    for (const id of ['a', 'b', 'c']) expect(runInContext(execution(id), () => fn(), fn)).toBe(id);
    expect(currentId()).toBeUndefined();
  });

  it('keeps an async function its execution across awaits, while plain runs happen in between', async () => {
    const plain = () => currentId();
    const slow = async () => {
      await tick();
      const seen = currentId();
      await tick();
      return [seen, currentId()];
    };
    const running = [runInContext(execution('s1'), () => slow(), slow), runInContext(execution('s2'), () => slow(), slow)];
    for (let i = 0; i < 3; i++) expect(runInContext(execution(`p${i}`), () => plain(), plain)).toBe(`p${i}`);
    expect(await Promise.all(running)).toEqual([['s1', 's1'], ['s2', 's2']]);
    expect(currentId()).toBeUndefined();
  });

  it('keeps a plain function that returns a promise its execution after the promise resolves, every call', async () => {
    const fn = () => tick().then(() => currentId());
    for (const id of ['x', 'y', 'z']) expect(await runInContext(execution(id), () => fn(), fn)).toBe(id);
  });

  it('shows the innermost execution in nested calls of either shape, and the outer one again after', async () => {
    const inner = async () => {
      const first = currentId();
      await tick();
      return [first, currentId()];
    };
    const outer = () => {
      const before = currentId();
      const nested = runInContext(execution('inner'), () => inner(), inner);
      return { before, nested, after: currentId() };
    };
    runInContext(execution('warm-up'), () => outer(), outer); // its first call runs under the storage
    const seen = runInContext(execution('outer'), () => outer(), outer);
    expect(seen.before).toBe('outer');
    expect(seen.after).toBe('outer');
    expect(await seen.nested).toEqual(['inner', 'inner']);
  });
});
