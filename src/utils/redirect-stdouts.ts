// Celery's worker_redirect_stdouts: what task code prints (console.log, console.error, process.stdout.write) becomes
// log lines at worker_redirect_stdouts_level, so it lands in the -f log file with a time and level like the rest.

import { toLogLevel, type Logger } from './logger.js';

type Write = typeof process.stdout.write;

/**
 * Send every non-blank write to process.stdout and process.stderr to `logger` as one record at `level` (Celery's level
 * names). The logger itself writes to its own file descriptor, never through these streams. Returns a function that
 * restores the streams.
 */
export function redirectStdouts(logger: Logger, level: string): () => void {
  const pinoLevel = toLogLevel(level);
  const log = pinoLevel === 'silent' ? () => undefined : (line: string) => logger[pinoLevel](line);
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  const redirected = function (this: NodeJS.WriteStream, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    // One record per write, trailing newlines dropped, as Celery's LoggingProxy: a multi-line console.log stays whole.
    const record = text.replace(/[\r\n]+$/, '');
    if (record.trim()) log(record);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  } as Write;
  for (const stream of streams) stream.write = redirected;
  return () => {
    streams.forEach((stream, i) => {
      if (stream.write === redirected) stream.write = originals[i]!;
    });
  };
}
