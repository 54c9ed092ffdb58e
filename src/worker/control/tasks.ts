// Remote-control commands about tasks (Celery's revoke, terminate, revoke_by_stamped_headers, rate_limit,
// time_limit): same arguments, same replies as Python's worker.

import { pythonRepr } from '../../config/humanize.js';
import type { CommandTable } from './command.js';
import type { ControlHost } from './host.js';

const ok = (value: string) => ({ ok: value });
const nok = (value: string) => ({ error: value });

/** Celery's maybe_list: a list stays, null/undefined is empty, anything else is a one-element list. */
function maybeList(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function revoke(host: ControlHost, taskIds: unknown, terminate: boolean): { ok: string } {
  const ids = [...new Set(maybeList(taskIds).map(String))];
  const stopped = host.revoke(ids, terminate);
  if (terminate) {
    if (stopped.length === 0) return ok('terminate: tasks unknown');
    host.logger.info(`Terminating ${stopped.join(', ')}`);
    return ok(`terminate: ${stopped.join(', ')}`);
  }
  host.logger.info(`Tasks flagged as revoked: ${ids.join(', ')}`);
  return ok(`tasks ${ids.join(', ')} flagged as revoked`);
}

/** `{ header: values }`, or Celery's CLI form `['header=value', …]`. */
function stampHeaders(headers: unknown): Record<string, unknown> {
  if (Array.isArray(headers)) {
    const out: Record<string, unknown> = {};
    for (const h of headers) {
      const [key, ...rest] = String(h).split('=');
      if (key) out[key] = rest.join('=');
    }
    return out;
  }
  return headers && typeof headers === 'object' ? (headers as Record<string, unknown>) : {};
}

function revokeByStampedHeaders(host: ControlHost, args: Record<string, unknown>): { ok: string } {
  const headers = stampHeaders(args.headers);
  for (const [header, stamps] of Object.entries(headers)) host.state.revokeStamps(header, maybeList(stamps));
  if (!args.terminate) return ok(`headers ${pythonRepr(headers)} flagged as revoked, but not terminated`);
  // Terminate the running tasks one of whose stamps matches (a list stamp matches on any of its values).
  const terminated: Record<string, unknown[]> = {};
  const toStop: string[] = [];
  for (const r of host.state.active.values()) {
    for (const [header, expected] of Object.entries(headers)) {
      if (!r.message.stampedHeaders?.includes(header)) continue;
      const wanted = maybeList(expected).map((v) => JSON.stringify(v));
      const matching = maybeList(r.message.stamps?.[header]).filter((v) => wanted.includes(JSON.stringify(v)));
      if (matching.length === 0) continue;
      (terminated[header] ??= []).push(...matching.filter((v) => !terminated[header]!.includes(v)));
      toStop.push(r.message.id);
    }
  }
  if (toStop.length === 0) return ok(`headers ${pythonRepr(headers)} were not terminated`);
  host.revoke([...new Set(toStop)], true);
  return ok(`headers ${pythonRepr(terminated)} revoked`);
}

/** The task commands, by wire name. */
export function taskCommands(): CommandTable {
  return {
    revoke: { type: 'control', run: (host, args) => revoke(host, args.task_id, Boolean(args.terminate)) },
    terminate: { type: 'control', run: (host, args) => revoke(host, args.task_id, true) },
    revoke_by_stamped_headers: { type: 'control', run: (host, args) => revokeByStampedHeaders(host, args) },
    rate_limit: {
      type: 'control',
      run: (host, args) => {
        const name = String(args.task_name);
        const limit = (args.rate_limit as string | number | null | undefined) ?? null;
        if (!host.task(name)) {
          host.logger.error(`Rate limit attempt for unknown task ${name}`);
          return nok('unknown task');
        }
        try {
          host.setRateLimit(name, limit || null);
        } catch (error) {
          return nok(`Invalid rate limit string: ${(error as Error).message}`);
        }
        if (!limit) {
          host.logger.info(`Rate limits disabled for tasks of type ${name}`);
          return ok('rate limit disabled successfully');
        }
        host.logger.info(`New rate limit for tasks of type ${name}: ${String(limit)}.`);
        return ok('new rate limit set successfully');
      },
    },
    time_limit: {
      type: 'control',
      run: (host, args) => {
        const name = String(args.task_name);
        if (!host.task(name)) {
          host.logger.error(`Change time limit attempt for unknown task ${name}`);
          return nok('unknown task');
        }
        const seconds = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));
        const soft = seconds(args.soft);
        const hard = seconds(args.hard);
        if ((soft !== null && !(soft >= 0)) || (hard !== null && !(hard >= 0))) return nok(`Invalid time limits soft=${String(args.soft)} hard=${String(args.hard)}: give seconds ≥ 0.`);
        host.setTimeLimits(name, soft, hard);
        host.logger.info(`New time limits for tasks of type ${name}: soft=${soft} hard=${hard}`);
        return ok('time limits set successfully');
      },
    },
  };
}
