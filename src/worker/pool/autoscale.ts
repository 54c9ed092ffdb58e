// Autoscaling of the child pools (Celery's --autoscale max,min): grow when tasks wait for a child, shrink back
// toward min once no scale-up has been needed for a keepalive period. Pure decisions; the pool acts on them.

import { ImproperlyConfigured } from '../../errors.js';

/** `--autoscale 10,3` → { max: 10, min: 3 }; `--autoscale 10` → { max: 10, min: 0 } (Celery's parsing). */
export interface AutoscaleLimits {
  readonly max: number;
  readonly min: number;
  /** Milliseconds without a scale-up before shrinking. Default: AUTOSCALE_KEEPALIVE seconds (Celery's env), else 30 s. */
  readonly keepaliveMs?: number;
}

/** Parse `--autoscale max,min` (or a pair); throws ImproperlyConfigured for anything but whole numbers with max ≥ 1. */
export function parseAutoscale(value: string | readonly number[]): AutoscaleLimits {
  const parts = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean).map(Number) : [...value];
  const [max, min = 0] = parts;
  if (parts.length < 1 || parts.length > 2 || !Number.isInteger(max) || !Number.isInteger(min) || max! < 1 || min < 0) {
    throw new ImproperlyConfigured(`--autoscale takes max,min (whole numbers, max ≥ 1), got '${String(value)}'.`);
  }
  // Celery sorts the pair, so `--autoscale 3,10` means the same as `10,3`.
  return { max: Math.max(max!, min), min: Math.min(max!, min) };
}

/** How long (ms) a pool stays scaled up without need before shrinking: AUTOSCALE_KEEPALIVE seconds (Celery's), default 30. */
export function defaultKeepaliveMs(): number {
  const env = Number(process.env.AUTOSCALE_KEEPALIVE);
  return (Number.isFinite(env) && env > 0 ? env : 30) * 1000;
}

/** What the autoscaler decides from: children alive, tasks wanting one, time since the last scale-up. */
export interface PoolLoad {
  /** Children alive or starting (not retiring). */
  readonly procs: number;
  /** Tasks running plus tasks waiting for a child. */
  readonly wanted: number;
  /** Milliseconds since the last scale-up (or since start). */
  readonly sinceScaleUpMs: number;
}

/** Children to add (> 0) or retire (< 0); 0 leaves the pool as it is. */
export function autoscaleStep(load: PoolLoad, limits: AutoscaleLimits): number {
  const keepalive = limits.keepaliveMs ?? defaultKeepaliveMs();
  const target = Math.min(limits.max, Math.max(limits.min, load.wanted));
  if (target > load.procs) return target - load.procs;
  if (target < load.procs && load.sinceScaleUpMs >= keepalive) return target - load.procs;
  if (load.procs < limits.min) return limits.min - load.procs;
  return 0;
}
