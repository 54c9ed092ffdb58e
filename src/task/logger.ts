// getTaskLogger (Celery's get_task_logger): a logger for task code whose lines carry the running task's
// name and id, taken from the current execution at each call.

import type { TaskApp } from './interfaces.js';
import type { Logger } from '../utils/logger.js';
import { currentExecution } from './context.js';

/** A logger for tasks of `app`; inside a running task each line is tagged `task_name[task_id]:`. */
export function getTaskLogger(app: Pick<TaskApp, 'log'>, name = 'celery.task'): Logger {
  const base = () => {
    const exec = currentExecution();
    return exec ? app.log.taskLogger(exec.taskName, exec.request.id) : app.log.getLogger(name);
  };
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
  const logger = Object.create(null) as Record<string, unknown>;
  for (const level of levels) {
    logger[level] = (...args: unknown[]) => (base()[level] as (...a: unknown[]) => void)(...args);
  }
  logger.child = (bindings: Record<string, unknown>) => base().child(bindings);
  logger.isLevelEnabled = (level: string) => base().isLevelEnabled(level);
  Object.defineProperty(logger, 'level', { get: () => base().level });
  return logger as unknown as Logger;
}
