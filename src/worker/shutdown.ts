// Signals → shutdown: the first SIGTERM/SIGINT is a warm shutdown, a second one (or SIGQUIT) a cold one.
// As in Celery, a cold shutdown ends the process with exit code 1 (EX_FAILURE), even when it cuts a warm one short.

import type { Worker } from './worker.js';

/** Installed shutdown handlers: remove them, and the exit code the shutdown so far calls for (0, or 1 once cold). */
export interface ShutdownSignals {
  uninstall(): void;
  readonly exitCode: number;
}

/** Install handlers; `exit` is called with the exit code once the worker has stopped. */
export function installShutdownSignals(worker: Worker, exit: (code: number) => void = (c) => process.exit(c)): ShutdownSignals {
  let signalled = 0;
  let exitCode = 0;
  const onWarm = (signal: NodeJS.Signals) => {
    signalled++;
    if (signalled === 1) {
      worker.logger.warn(`${signal} received: warm shutdown (press Ctrl+C again for a cold shutdown)`);
      void worker.stop('warm').then(() => exit(exitCode));
    } else {
      worker.logger.warn(`${signal} received again: cold shutdown`);
      void cold();
    }
  };
  const cold = async () => {
    exitCode = 1;
    const timer = setTimeout(() => exit(1), 5_000);
    timer.unref();
    await worker.stop('cold').catch(() => undefined);
    exit(1);
  };
  const onQuit = () => void cold();
  process.on('SIGTERM', onWarm);
  process.on('SIGINT', onWarm);
  process.on('SIGQUIT', onQuit);
  return {
    uninstall() {
      process.off('SIGTERM', onWarm);
      process.off('SIGINT', onWarm);
      process.off('SIGQUIT', onQuit);
    },
    get exitCode() {
      return exitCode;
    },
  };
}
