// `--statedb`: the worker's persistent state (Celery's worker_state_db). Revoked task ids survive a restart, so a
// message revoked before the restart is still discarded when it is delivered after it. A JSON file, written
// atomically (temp file + rename) so a crash mid-write leaves the previous state.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ImproperlyConfigured } from '../errors.js';

interface StateFile {
  readonly revoked: readonly string[];
  readonly savedAt: string;
}

/** Revoked ids saved in `path`, oldest first; none when the file does not exist yet. */
export function loadRevoked(path: string): string[] {
  if (!existsSync(path)) return [];
  let doc: Partial<StateFile>;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as Partial<StateFile>;
  } catch (error) {
    throw new ImproperlyConfigured(`The worker state file ${path} (--statedb) is not readable JSON (${(error as Error).message}). Move it away to start with an empty state.`);
  }
  return Array.isArray(doc.revoked) ? doc.revoked.filter((id): id is string => typeof id === 'string') : [];
}

/** Save revoked ids to `path`, replacing it atomically. */
export function saveRevoked(path: string, revoked: Iterable<string>): void {
  const doc: StateFile = { revoked: [...revoked], savedAt: new Date().toISOString() };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(doc));
  renameSync(tmp, path);
}
