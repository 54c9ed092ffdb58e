// Where the shared protocol fixtures and the Python harness live: $CELERIAC_SHARED_DIR, else ../shared beside the
// repo, else the snapshot in tests/shared (a lone clone, as in CI).

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDir =
  process.env.CELERIAC_SHARED_DIR ??
  (existsSync(resolve(repoRoot, '../shared/protocol/fixtures')) ? resolve(repoRoot, '../shared') : resolve(repoRoot, 'tests/shared'));

export interface CapturedCommand {
  ms: number;
  db: number;
  conn: string;
  args: string[];
}

export interface Capture {
  case: string;
  description: string;
  commands: CapturedCommand[];
}

/** Every Redis capture in fixtures/redis, by file name. */
export function redisCaptures(): Array<[string, Capture]> {
  const dir = join(sharedDir, 'protocol/fixtures/redis');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Capture]);
}

/** Task envelopes pushed onto queue lists in a capture (LPUSH/RPUSH arguments that parse as envelopes). */
export function pushedEnvelopes(capture: Capture): Array<{ list: string; raw: string }> {
  const out: Array<{ list: string; raw: string }> = [];
  for (const c of capture.commands) {
    if (c.args[0] !== 'LPUSH' && c.args[0] !== 'RPUSH') continue;
    for (const raw of c.args.slice(2)) {
      try {
        const env = JSON.parse(raw) as { headers?: unknown; body?: unknown };
        if (env && typeof env === 'object' && 'body' in env && 'headers' in env) out.push({ list: c.args[1]!, raw });
      } catch {
        // not an envelope (e.g. a reply list value)
      }
    }
  }
  return out;
}
