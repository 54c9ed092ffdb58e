// `celeriac multi` argument planning (Celery's multi syntax): node names or a count, %n/%I file patterns, and
// every other argument passed through to each worker.

import { describe, expect, it } from 'vitest';
import { expandMultiPattern, planMulti } from '../../../src/cli/multi.js';
import { UsageError } from '../../../src/errors.js';

describe('celeriac multi planning', () => {
  it('names nodes name@host and gives each its pidfile, logfile and the worker arguments', () => {
    const plan = planMulti(['start', 'w1', 'w2@other', '-A', 'proj', '-c', '3', '--pidfile=/run/%n.pid', '--logfile', '/log/%n%I.log'], 'box');
    expect(plan.action).toBe('start');
    expect(plan.nodes.map((n) => [n.name, n.pidfile, n.logfile])).toEqual([
      ['w1@box', '/run/w1.pid', '/log/w1.log'],
      ['w2@other', '/run/w2.pid', '/log/w2.log'],
    ]);
    expect(plan.nodes[0]!.argv).toEqual(['worker', '-n', 'w1@box', '--logfile', '/log/w1.log', '-A', 'proj', '-c', '3']);
  });

  it('a count names the nodes celery1 … celeryN, with Celery\'s default files in the current directory', () => {
    const plan = planMulti(['show', '3'], 'box');
    expect(plan.nodes.map((n) => n.name)).toEqual(['celery1@box', 'celery2@box', 'celery3@box']);
    expect(plan.nodes[2]!.pidfile).toBe(`${process.cwd()}/celery3.pid`);
    expect(plan.nodes[2]!.logfile).toBe(`${process.cwd()}/celery3.log`);
  });

  it('expands %h, %d, %i and %% as well', () => {
    expect(expandMultiPattern('%n-%h-%d-%i-%%', 'w1@a.example.org')).toBe('w1-a.example.org-example.org-0-%');
  });

  it('refuses an unknown action or no nodes with a usage error saying what to write', () => {
    expect(() => planMulti(['begin', 'w1'])).toThrow(UsageError);
    expect(() => planMulti(['start', '-A', 'proj'])).toThrow(/Name the nodes/);
    expect(() => planMulti(['start', 'w1', '--pidfile'])).toThrow(/needs a value/);
  });
});
