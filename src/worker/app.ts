// What the worker uses of its app (the Celery class implements it): settings, the registry, signals, logging, the
// producer, and the broker and result backend connections. The worker, its consumer and its pools hold this, not
// the whole Celery object, so the app can grow without the worker depending on all of it.

import type { LoggerOptions, Logger } from '../utils/logger.js';
import type { Config } from '../config/resolve.js';
import type { Signals } from '../app/signals.js';
import type { TaskRegistry } from '../app/registry.js';
import type { Producer } from '../app/producer.js';
import type { Transport } from '../transports/transport.js';
import type { ExecutableTask, TaskApp } from '../task/interfaces.js';

/** The app as a worker (and each pool child) sees it. */
export interface WorkerApp extends TaskApp {
  readonly conf: Config;
  /** The registry: the worker lists, looks up and (for built-ins) registers tasks. */
  readonly tasks: TaskRegistry<ExecutableTask>;
  readonly signals: Signals;
  readonly producer: Producer;
  readonly log: TaskApp['log'] & {
    /** Configure the app's root logger (level, file, format) and return it. */
    setup(options: LoggerOptions): Logger;
    readonly logger: Logger;
  };
  /** The broker URL in effect (broker_url, or the embedded default). */
  brokerUrl(): string;
  /** The result backend URL in effect, or null when there is none. */
  backendUrl(): string | null;
  /** The connected broker transport. */
  getTransport(): Promise<Transport>;
  /** Apply the configuration (imports, include, built-in tasks) before the worker starts. */
  finalize(): this;
  /** Close the app's connections. */
  close(): Promise<void>;
}
