// Celery's general, time, security and beat settings: names, types, defaults, docs and old names.
// Data only; defaults live here and nowhere else. Old names follow Celery's namespace rules (CELERY_X, CELERYBEAT_X).

import {
  bool, dict, int, list, nameOrNumber, seconds, serializers, string, timezone, APPLIED, NO_DAEMON, accepted, planned, type StatusOf,
} from './spec.js';

/** Content types, time and imports (Celery's "General settings" and "Time and date settings"). */
export const GENERAL = {
  accept_content: serializers(['json'], 'Serializer names or content types a worker accepts; other messages are rejected unread.', { old: ['CELERY_ACCEPT_CONTENT'] }),
  result_accept_content: serializers(null, 'Serializers accepted when reading results; null = same as accept_content.'),
  enable_utc: bool(true, 'Dates and times in messages are in UTC.', { old: ['CELERY_ENABLE_UTC'] }),
  timezone: timezone('Time zone for ETAs, beat and logs. null = UTC (Celery\'s documented default), or the local zone when enable_utc is false.', { old: ['CELERY_TIMEZONE'] }),
  imports: list([], 'Modules the worker imports at start, in order.', { old: ['CELERY_IMPORTS'] }),
  include: list([], 'Modules imported after `imports` (same meaning, separate category).', { old: ['CELERY_INCLUDE'] }),
};

/** Whether celeriac honours each GENERAL setting (see SettingStatus). */
export const GENERAL_STATUS: StatusOf<typeof GENERAL> = {
  accept_content: APPLIED,
  result_accept_content: planned('results are read with json, msgpack and yaml accepted'),
  enable_utc: APPLIED,
  timezone: APPLIED,
  imports: APPLIED,
  include: APPLIED,
};

/** Message signing (Celery's "Security" settings). */
export const SECURITY = {
  security_key: string(null, 'Path of the private key used to sign messages.', { old: ['CELERY_SECURITY_KEY'] }),
  security_key_password: string(null, 'Password that decrypts security_key.', { old: ['CELERY_SECURITY_KEY_PASSWORD'] }),
  security_certificate: string(null, 'Path of the X.509 certificate used to sign messages.', { old: ['CELERY_SECURITY_CERTIFICATE'] }),
  security_cert_store: string(null, 'Directory or glob of X.509 certificates trusted for signed messages.', { old: ['CELERY_SECURITY_CERT_STORE'] }),
  security_digest: string('sha256', 'Digest used to sign messages.', { old: ['CELERY_SECURITY_DIGEST'] }),
};

/** Whether celeriac honours each SECURITY setting (see SettingStatus). */
export const SECURITY_STATUS: StatusOf<typeof SECURITY> = {
  security_key: APPLIED,
  security_key_password: APPLIED,
  security_certificate: APPLIED,
  security_cert_store: APPLIED,
  security_digest: APPLIED,
};

/** The periodic task scheduler (Celery's "Beat Settings"). */
export const BEAT = {
  beat_schedule: dict({}, 'The periodic task schedule: entry name → { task, schedule, args, kwargs, options }.', { old: ['CELERYBEAT_SCHEDULE'] }),
  beat_scheduler: string('celery.beat:PersistentScheduler', 'Scheduler class (Celery\'s name for the file-backed default).', { old: ['CELERYBEAT_SCHEDULER'] }),
  beat_schedule_filename: string('celerybeat-schedule', 'File where the default scheduler keeps last run times.', { old: ['CELERYBEAT_SCHEDULE_FILENAME'] }),
  beat_sync_every: int(0, 'Periodic tasks sent between schedule syncs; 0 = sync on a timer.', { old: ['CELERYBEAT_SYNC_EVERY'], min: 0 }),
  beat_max_loop_interval: seconds(0, 'Longest sleep between schedule checks; 0 = the scheduler\'s own (300 s).', { old: ['CELERYBEAT_MAX_LOOP_INTERVAL'] }),
  beat_takeover_timeout: seconds(10, 'celeriac: with several beats on one broker, a standby takes over at most this many seconds after the leader stops (crash, kill -9).'),
  beat_cron_starting_deadline: seconds(null, 'How far back a missed crontab run may still fire; null = always run when past due.', { old: ['CELERYBEAT_CRON_STARTING_DEADLINE'] }),
  beat_logfile: string(null, 'File `celeriac beat` logs to; null = stdout.'),
  beat_pidfile: string(null, 'PID file of `celeriac beat`; null = none.'),
  beat_uid: nameOrNumber('User beat switches to when daemonizing; null = no change.'),
  beat_gid: nameOrNumber('Group beat switches to when daemonizing; null = no change.'),
  beat_umask: nameOrNumber('umask for files beat creates when daemonizing.'),
  beat_executable: string(null, 'Interpreter used when beat daemonizes; null = this one.'),
};

/** Whether celeriac honours each BEAT setting (see SettingStatus). */
export const BEAT_STATUS: StatusOf<typeof BEAT> = {
  beat_schedule: APPLIED,
  beat_scheduler: accepted('it names a Python scheduler class; celeriac beat keeps its state in the broker or in beat_schedule_filename'),
  beat_schedule_filename: APPLIED,
  beat_sync_every: APPLIED,
  beat_max_loop_interval: APPLIED,
  beat_takeover_timeout: APPLIED,
  beat_cron_starting_deadline: planned('missed crontab runs are judged by the schedule alone'),
  beat_logfile: APPLIED,
  beat_pidfile: planned('celeriac beat writes no PID file yet'),
  beat_uid: accepted(NO_DAEMON),
  beat_gid: accepted(NO_DAEMON),
  beat_umask: accepted(NO_DAEMON),
  beat_executable: accepted(NO_DAEMON),
};
