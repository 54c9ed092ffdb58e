// Running the shared Python Celery harness (../shared/protocol/interop/py_celery.py, or $CELERIAC_SHARED_DIR) with
// Debian's /usr/bin/python3: a presence check for the global setup and a one-shot command runner for tests.

import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sharedDir } from './shared.js';
import { ServerSetupError } from './servers.js';

const run = promisify(execFile);

/** What tests get as `inject('pythonCelery')`. */
export interface PythonCelery {
  readonly python: string;
  readonly harness: string;
}

export const PYTHON = '/usr/bin/python3';
export const HARNESS = join(sharedDir, 'protocol/interop/py_celery.py');

const PACKAGES = 'python3-celery python3-redis python3-msgpack python3-yaml python3-pylibmc';

/** Check that the interpreter, the Debian Celery packages and the harness are there; throw naming what to install. */
export function checkPythonCelery(): PythonCelery {
  if (!existsSync(PYTHON)) throw new ServerSetupError(`${PYTHON} is missing. Install the Debian packages: apt-get install -y python3 ${PACKAGES}`);
  const r = spawnSync(PYTHON, ['-c', 'import celery, redis, msgpack, yaml, pylibmc'], { encoding: 'utf8' });
  if (r.status !== 0) throw new ServerSetupError(`Python Celery is not importable (${r.stderr.trim().split('\n').pop()}). Install the Debian packages: apt-get install -y ${PACKAGES}`);
  if (!existsSync(HARNESS)) throw new ServerSetupError(`The interop harness ${HARNESS} is missing. Check out the shared protocol folder beside the repo or set CELERIAC_SHARED_DIR.`);
  return { python: PYTHON, harness: HARNESS };
}

/** Run one harness command (`call`, `result`, `inspect` …) and parse the JSON line it prints last. */
export async function runPyCelery<T = Record<string, unknown>>(py: PythonCelery, args: readonly string[], timeoutMs = 40_000): Promise<T> {
  const { stdout } = await run(py.python, [py.harness, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 });
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as T;
}
