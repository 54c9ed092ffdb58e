// npm exec (npx) and npm run start the worker under `sh -c`; a SIGTERM to npm's PID ends that shell but not the worker.
// Orphaned that way, the worker is told to shut down, so a supervisor signalling the PID it started stops the worker.

/** Whether this process was started by npm (npx, npm exec, npm run/start): its parent is npm's shell, not the caller. */
export function startedByNpm(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.npm_command || env.npm_lifecycle_event);
}

/**
 * Call `onOrphaned` once, when this process's parent has exited (it is re-parented). Polls `process.ppid` every
 * `intervalMs`, without holding the process alive. Returns a function that stops watching.
 */
export function whenOrphaned(onOrphaned: (parentPid: number) => void, intervalMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned(parent);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
