// Logging on pino, printed in Celery's line format by default:
//   [2026-11-25 05:00:00,123: INFO/MainProcess] Task tasks.add[<id>] received
// Task loggers add `task_name[task_id]: ` like Celery's task log format. JSON output is one option away.

import pino, { type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import { ImproperlyConfigured } from '../errors.js';

/** The logging surface celeriac and tasks use: pino's level methods, child(bindings), level and isLevelEnabled. */
export type Logger = Pick<PinoLogger, 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'trace' | 'child' | 'level' | 'isLevelEnabled'>;

/** pino's level names; Celery's (WARNING, CRITICAL) map onto them through toLogLevel. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** How createLogger writes: level, process name, file or stderr, Celery's text format or JSON. */
export interface LoggerOptions {
  /** Celery-style or pino level names, any case: DEBUG, INFO, WARNING, ERROR, CRITICAL. Default WARNING, as Celery. */
  level?: string;
  /** 'MainProcess' in Celery's format; child processes name themselves. */
  processName?: string;
  /** Write to this file instead of stderr (Celery's --logfile). */
  file?: string | null;
  /** Emit pino JSON lines instead of Celery's text format. */
  json?: boolean;
  colorize?: boolean;
}

const LEVELS: Record<string, LogLevel> = {
  trace: 'trace', debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error',
  critical: 'fatal', fatal: 'fatal', silent: 'silent', off: 'silent',
};

/** Celery's level names → pino's; unknown names are an error naming the accepted ones. */
export function toLogLevel(level: string): LogLevel {
  const found = LEVELS[level.toLowerCase()];
  if (!found) throw new ImproperlyConfigured(`Unknown log level '${level}'. Use DEBUG, INFO, WARNING, ERROR or CRITICAL.`);
  return found;
}

const CELERY_NUMBERS: Record<LogLevel, number> = { trace: 5, debug: 10, info: 20, warn: 30, error: 40, fatal: 50, silent: 100 };

/** A level name as Python logging's number (DEBUG 10 … CRITICAL 50), as Celery puts it in request.loglevel. */
export function celeryLevelNumber(level: string): number {
  return CELERY_NUMBERS[toLogLevel(level)];
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };

function celeryTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

/**
 * A pino logger printing Celery's line format (`[time: LEVEL/Process] message`), or JSON lines with `json`.
 * Throws a plain Error naming the accepted levels for an unknown `level`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = toLogLevel(options.level ?? 'WARNING');
  const destination = options.file ? pino.destination({ dest: options.file, sync: true, mkdir: true }) : pino.destination({ fd: 2, sync: true });
  if (options.json) return pino({ level, base: { process: options.processName ?? 'MainProcess' } }, destination);
  const processName = options.processName ?? 'MainProcess';
  const stream = pretty({
    destination,
    sync: true,
    colorize: options.colorize ?? false,
    hideObject: true,
    ignore: 'time,level,pid,hostname,name',
    messageFormat: (log: Record<string, unknown>) => {
      const prefix = `[${celeryTime(log.time as number)}: ${LEVEL_NAMES[log.level as number] ?? 'INFO'}/${processName}]`;
      const task = log.task_name ? ` ${String(log.task_name)}[${String(log.task_id)}]:` : '';
      const err = log.err as { stack?: string } | undefined;
      return `${prefix}${task} ${String(log.msg ?? '')}${err?.stack ? `\n${err.stack}` : ''}`;
    },
  });
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.epochTime }, stream);
}
