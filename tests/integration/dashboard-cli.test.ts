// `celeriac flower` as a user runs it: Flower's option names and FLOWER_* variables, auth on every API call, a
// usage error for a bad option, and a clean exit on SIGTERM. A private redis-server; the built CLI.

import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watch, type Proc } from '../interop/harness.js';
import { repoRoot } from '../support/shared.js';
import { startRedis, type RedisServer } from '../support/servers.js';

const CLI = join(repoRoot, 'bin/celeriac.js');
const APP = `${join(repoRoot, 'tests/fixtures/tools-app.ts')}:app`;
let redis: RedisServer;
let flower: Proc;
let base: string;

beforeAll(async () => {
  redis = await startRedis();
  const child = spawn(process.execPath, [CLI, 'flower', '-A', APP, '-b', redis.url, '--result-backend', redis.url, '--port', '0', '--basic_auth', 'ann:pw1,bob:pw2'], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLOWER_AUTH_TOKEN: 'tok-xyz' },
  });
  flower = await watch(child, /Visit me at http:\/\/\S+/, 'celeriac flower', 60_000);
  base = /Visit me at (http:\/\/\S+?)\/?\n/.exec(flower.output())![1]!;
}, 90_000);

afterAll(async () => {
  if (flower?.alive()) await flower.stop('SIGTERM');
  await redis?.stop();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
const basic = (pair: string) => ({ authorization: `Basic ${Buffer.from(pair).toString('base64')}` });

describe('celeriac flower', { timeout: 60_000 }, () => {
  it('listens on loopback, prints the broker without its password, and asks every API call for credentials', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(flower.output()).toContain(`Broker: ${redis.url}`);
    expect((await get('/api/workers')).status).toBe(401);
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/api/workers', basic('bob:pw2'))).status).toBe(200);
    expect((await get('/api/tasks', { authorization: 'Bearer tok-xyz' })).status).toBe(200);
    expect((await get('/api/tasks', basic('bob:pw1'))).status).toBe(401);
    const metrics = await get('/metrics', basic('ann:pw1'));
    expect(await metrics.text()).toContain('# TYPE flower_events_total counter');
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await flower.stop('SIGTERM')).toBe(0);
  });

  it('a bad option is a usage error (exit 2) naming it', () => {
    const r = spawnSync(process.execPath, [CLI, 'flower', '-A', APP, '--port', 'http'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--port must be a whole number from 0 to 65535; got 'http'");
  });
});
