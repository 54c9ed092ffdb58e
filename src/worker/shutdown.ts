// Signals → shutdown: the first SIGTERM/SIGINT is a warm shutdown, a second one (or SIGQUIT) a cold one.

import type { Worker } from './worker.js';

/** Install handlers; returns a function that removes them. */
export function installShutdownSignals(worker: Worker, exit: (code: number) => void = (c) => process.exit(c)): () => void {
  let signalled = 0;
  const onWarm = (signal: NodeJS.Signals) => {
    signalled++;
    if (signalled === 1) {
      worker.logger.warn(`${signal} received: warm shutdown (press Ctrl+C again for a cold shutdown)`);
      void worker.stop('warm').then(() => exit(0));
    } else {
      worker.logger.warn(`${signal} received again: cold shutdown`);
      void cold();
    }
  };
  const cold = async () => {
    const timer = setTimeout(() => exit(1), 5_000);
    timer.unref();
    await worker.stop('cold').catch(() => undefined);
    exit(1);
  };
  const onQuit = () => void cold();
  process.on('SIGTERM', onWarm);
  process.on('SIGINT', onWarm);
  process.on('SIGQUIT', onQuit);
  return () => {
    process.off('SIGTERM', onWarm);
    process.off('SIGINT', onWarm);
    process.off('SIGQUIT', onQuit);
  };
}
