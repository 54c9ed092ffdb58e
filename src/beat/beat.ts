// The beat service (Celery's beat Service + Scheduler): reads the schedule, elects one leader among every beat on
// the broker, and has the leader send each due run once through the app's normal send path. Runs alone
// (`celeriac beat`) or beside a worker (`celeriac worker -B`). It must not build messages itself.

import { hostname } from 'node:os';
import type { Celery } from '../app/celery.js';
import type { ApplyOptions } from '../task/options.js';
import { SchedulingError } from '../errors.js';
import { uuid } from '../utils/ids.js';
import type { Logger } from '../utils/logger.js';
import { sleepLong } from '../utils/long-timer.js';
import { appTimeZone } from '../utils/time-zone.js';
import { loadEntries, type ScheduleEntry } from './entry.js';
import type { ScheduleClock } from './schedule.js';
import { CoordinationStateStore, FileStateStore, type BeatStateStore, type StoredState } from './state.js';

/** Celery's default scheduler sleeps at most this long between checks (DEFAULT_MAX_INTERVAL). */
const DEFAULT_MAX_INTERVAL_S = 300;

/** Options of `new Beat(app, options)` (celery beat's flags): schedule file, max interval and takeover timeout, logger. */
export interface BeatOptions {
  /** Schedule file for brokers that keep no beat state (-s). Default beat_schedule_filename. */
  scheduleFile?: string;
  /** Longest sleep between checks, in seconds (--max-interval). Default beat_max_loop_interval, else 300. */
  maxInterval?: number;
  /** Seconds within which a standby takes over from a dead leader. Default beat_takeover_timeout (10). */
  takeoverTimeout?: number;
  /** Logger to use; default the app's `celery.beat` logger. */
  logger?: Logger;
}

/** What beat reports about itself (for the banner, logs and tests). */
export interface BeatInfo {
  readonly holder: string;
  readonly leader: boolean;
  readonly store: string;
  readonly entries: readonly string[];
  /** Runs this beat has sent. */
  readonly sent: number;
}

/** Runs the periodic schedule of one app. start() resolves once it runs; stop() ends it and resigns leadership. */
export class Beat {
  /** This beat's identity in leader elections: host, pid and a random part. */
  readonly holder = `${hostname()}:${process.pid}:${uuid().slice(0, 8)}`;
  readonly logger: Logger;
  private entries: ScheduleEntry[] = [];
  private readonly states = new Map<string, StoredState>();
  private store?: BeatStateStore;
  private leading = false;
  private sent = 0;
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;

  constructor(readonly app: Celery, readonly options: BeatOptions = {}) {
    this.logger = options.logger ?? app.log.getLogger('celery.beat');
  }

  /** Seconds within which a standby takes over; the lease lasts ¾ of it and is renewed every ¼. */
  get takeoverTimeout(): number {
    const value = this.options.takeoverTimeout ?? (this.app.conf.get('beat_takeover_timeout') as number | null) ?? 10;
    if (!(value > 0)) throw new SchedulingError(`beat_takeover_timeout must be a number of seconds > 0 (got ${value}).`, { context: { setting: 'beat_takeover_timeout' } });
    return value;
  }

  /** Longest sleep between schedule checks, in seconds (option, else beat_max_loop_interval, else Celery's 300). */
  get maxInterval(): number {
    return this.options.maxInterval || (this.app.conf.get('beat_max_loop_interval') as number | null) || DEFAULT_MAX_INTERVAL_S;
  }

  /** Whether this beat leads, where its state lives, its entries and how many runs it sent. */
  info(): BeatInfo {
    return { holder: this.holder, leader: this.leading, store: this.store?.description ?? '(not started)', entries: this.entries.map((e) => e.name), sent: this.sent };
  }

  /**
   * Check the schedule (a SchedulingError lists every bad entry and field), open the state store and start the
   * loop. Nothing is sent before the schedule is known to be valid.
   */
  async start(): Promise<void> {
    const app = this.app.finalize();
    this.entries = loadEntries((app.conf.get('beat_schedule') as Record<string, unknown> | null) ?? {}, { isRegistered: (name) => app.tasks.has(name) });
    const clock: ScheduleClock = { timezone: appTimeZone(app.conf.get('timezone') as string | null, app.conf.get('enable_utc') !== false), now: () => Date.now() };
    for (const entry of this.entries) entry.schedule.clock = clock;
    const renewMs = (this.takeoverTimeout * 1000) / 4;
    this.store = await this.openStore();
    this.logger.info(`beat: Starting (${this.entries.length} entries; state in ${this.store.description}; time zone ${clock.timezone}).`);
    this.loop = this.run(renewMs);
  }

  /** Stop sending, give up leadership and write what is unsaved. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return this.loop;
    this.stopping.abort();
    await this.loop;
    if (this.store) {
      await this.store.close();
      if (this.leading) await this.store.resign(this.holder).catch(() => undefined);
      this.leading = false;
    }
    this.logger.info('beat: Stopped.');
  }

  /** The broker's coordination, else the result backend's (RabbitMQ with Redis/SQL results), else the file. */
  private async openStore(): Promise<BeatStateStore> {
    const transport = await this.app.getTransport();
    if (transport.coordination) return new CoordinationStateStore(transport.coordination, this.app.main);
    const backend = this.app.backendUrl() ? await this.app.getBackend() : null;
    if (backend?.coordination) return new CoordinationStateStore(backend.coordination, this.app.main);
    const file = this.options.scheduleFile ?? (this.app.conf.get('beat_schedule_filename') as string | null) ?? 'celerybeat-schedule';
    return new FileStateStore(file, (this.app.conf.get('beat_sync_every') as number | null) ?? 0, (message) => this.logger.error(`beat: ${message}`));
  }

  /** Renew leadership every ¼ of the takeover time; while leading, send what is due and sleep until the next run. */
  private async run(renewMs: number): Promise<void> {
    const leaseMs = renewMs * 3;
    const signal = this.stopping.signal;
    let renewAt = 0;
    while (!signal.aborted) {
      let sleepMs = renewMs;
      try {
        if (performance.now() >= renewAt) {
          renewAt = performance.now() + renewMs;
          await this.renew(leaseMs);
        }
        if (this.leading && !signal.aborted) {
          const next = await this.tick();
          sleepMs = Math.min(next * 1000, this.maxInterval * 1000, renewAt - performance.now());
        } else sleepMs = renewAt - performance.now();
      } catch (error) {
        this.logger.error(`beat: ${(error as Error).message}`);
      }
      await sleepLong(Math.max(sleepMs, 0), { signal });
    }
  }

  private async renew(leaseMs: number): Promise<void> {
    let leading: boolean;
    try {
      leading = await this.store!.lead(this.holder, leaseMs);
    } catch (error) {
      if (this.leading) this.logger.error(`beat: Lost contact with ${this.store!.description} (${(error as Error).message}); not sending until leadership is confirmed.`);
      this.leading = false;
      return;
    }
    if (leading && !this.leading) {
      await this.loadStates();
      this.logger.info(`beat: ${this.holder} is now the leader; it sends the schedule.`);
    } else if (!leading && this.leading) {
      this.logger.warn(`beat: ${this.holder} lost leadership to another beat; standing by.`);
    }
    this.leading = leading;
  }

  /** Read every entry's state; an entry seen for the first time starts counting from now (as in Celery). */
  private async loadStates(): Promise<void> {
    this.states.clear();
    for (const entry of this.entries) this.states.set(entry.name, await this.current(entry.name));
  }

  private async current(name: string): Promise<StoredState> {
    for (;;) {
      const stored = await this.store!.read(name);
      if (stored) return stored;
      const created = await this.store!.claim(name, null, { lastRunAt: Date.now(), totalRunCount: 0 });
      if (created) return created;
    }
  }

  /** Send every due entry once; returns seconds until the next check. */
  private async tick(): Promise<number> {
    let next = this.maxInterval;
    for (const entry of this.entries) {
      if (this.stopping.signal.aborted || !this.leading) break;
      const stored = this.states.get(entry.name) ?? (await this.current(entry.name));
      const due = entry.schedule.isDue(new Date(stored.state.lastRunAt));
      if (due.isDue) await this.apply(entry, stored);
      next = Math.min(next, due.next);
    }
    return next;
  }

  /**
   * Claim the run (compare-and-set on the entry's state), then send it. A beat that loses the claim sends
   * nothing. A send that fails after the claim is logged and not retried, so a run is never sent twice.
   */
  private async apply(entry: ScheduleEntry, stored: StoredState): Promise<void> {
    const claimed = await this.store!.claim(entry.name, stored.token, { lastRunAt: Date.now(), totalRunCount: stored.state.totalRunCount + 1 });
    if (!claimed) {
      this.logger.debug(`beat: ${entry.name}: this run was claimed by another beat.`);
      this.states.set(entry.name, await this.current(entry.name));
      return;
    }
    this.states.set(entry.name, claimed);
    this.logger.info(`Scheduler: Sending due task ${entry.name} (${entry.task})`);
    const options: ApplyOptions = { ...entry.options, headers: { ...entry.options.headers, periodic_task_name: entry.name } };
    try {
      const result = this.app.tasks.has(entry.task)
        ? await this.app.tasks.get(entry.task).applyAsync([...entry.args], { ...entry.kwargs }, options)
        : await this.app.sendTask(entry.task, [...entry.args], { ...entry.kwargs }, options);
      this.sent++;
      this.logger.debug(`beat: ${entry.task} sent. id->${result.id}`);
    } catch (error) {
      this.logger.error(`beat: Could not send ${entry.name} (${entry.task}): ${(error as Error).message}. This run is skipped; the next one is sent as scheduled.`);
    }
  }
}
