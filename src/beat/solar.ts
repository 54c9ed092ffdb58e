// Solar schedules (Celery's solar(event, lat, lon)): runs at the next sunrise, sunset, dawn, dusk or solar noon
// after the last run, at a place. The sun's times come from the suncalc library (Celery uses ephem); the two agree
// to within a minute or so. Pure: the clock comes from BaseSchedule.

import { getTimes } from 'suncalc';
import { SchedulingError } from '../errors.js';
import { BaseSchedule, type ScheduleState } from './schedule.js';

/** Celery's solar event names → suncalc's names (same sun altitudes: -0.833° rise/set, -6°, -12°, -18°, noon). */
const EVENTS = {
  dawn_astronomical: 'nightEnd',
  dawn_nautical: 'nauticalDawn',
  dawn_civil: 'dawn',
  sunrise: 'sunrise',
  solar_noon: 'solarNoon',
  sunset: 'sunset',
  dusk_civil: 'dusk',
  dusk_nautical: 'nauticalDusk',
  dusk_astronomical: 'night',
} as const;

/** A solar event Celery knows. */
export type SolarEvent = keyof typeof EVENTS;

const DAY_MS = 86_400_000;

/**
 * Runs at a solar event at a place (Celery's solar). Where the event does not happen for days (polar day or
 * night) the schedule is not due and asks to be checked again after the next solar midnight; Celery there may run
 * the task once a day at the wrong time.
 */
export class Solar extends BaseSchedule {
  /** An unknown event or a latitude/longitude out of range is reported by validate() and by every use. */
  constructor(readonly event: SolarEvent, readonly lat: number, readonly lon: number) {
    super();
    this.checked(() => {
      if (!Object.hasOwn(EVENTS, event)) {
        throw new SchedulingError(`unknown solar event ${JSON.stringify(event)}: use one of ${Object.keys(EVENTS).sort().join(', ')}.`);
      }
      if (typeof lat !== 'number' || !(lat >= -90 && lat <= 90)) throw new SchedulingError(`invalid solar latitude ${JSON.stringify(lat)}: use a number from -90 to 90.`);
      if (typeof lon !== 'number' || !(lon >= -180 && lon <= 180)) throw new SchedulingError(`invalid solar longitude ${JSON.stringify(lon)}: use a number from -180 to 180.`);
    }, undefined);
  }

  /** The first time the event happens after `afterMs`, or null if it does not within two days. */
  nextEvent(afterMs: number): number | null {
    this.validate();
    const name = EVENTS[this.event];
    let best: number | null = null;
    for (let day = -1; day <= 2; day++) {
      const value = getTimes(new Date(afterMs + day * DAY_MS), this.lat, this.lon)[name];
      const t = value instanceof Date ? value.getTime() : Number.NaN;
      if (Number.isFinite(t) && t > afterMs && (best === null || t < best)) best = t;
    }
    return best;
  }

  remainingEstimate(lastRunAt: Date): number {
    const last = lastRunAt.getTime();
    const next = this.nextEvent(last) ?? this.nextNadir(last) + 60_000;
    return (next - this.now()) / 1000;
  }

  isDue(lastRunAt: Date): ScheduleState {
    const now = this.now();
    const next = this.nextEvent(lastRunAt.getTime());
    if (next === null || next > now) {
      return { isDue: false, next: Math.max(((next ?? this.nextNadir(now) + 60_000) - now) / 1000, 0) };
    }
    return { isDue: true, next: Math.max(this.remainingEstimate(new Date(now)), 0) };
  }

  describe(): string {
    return `<solar: ${this.event} at latitude ${this.lat}, longitude: ${this.lon}>`;
  }

  private nextNadir(afterMs: number): number {
    for (let day = 0; ; day++) {
      const nadir = getTimes(new Date(afterMs + day * DAY_MS), this.lat, this.lon).nadir.getTime();
      if (nadir > afterMs) return nadir;
    }
  }
}

/** A solar schedule (Celery's `solar(event, lat, lon)`). */
export function solar(event: SolarEvent, lat: number, lon: number): Solar {
  return new Solar(event, lat, lon);
}
